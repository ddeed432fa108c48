public import Foundation
import SwiftASN1
import X509

/// What a Kubernetes client needs from an admin kubeconfig: the API server URL, the CA that signs
/// its certificate, and the client certificate and key that authenticate the user.
///
/// Reads the kubeconfig layout of Kubernetes `clientcmd/api/v1` `Config` (`current-context`,
/// `contexts[].context.{cluster,user}`, `clusters[].cluster.{server,certificate-authority-data}`,
/// `users[].user.{client-certificate-data,client-key-data}`, the `-data` fields base64 of PEM), as
/// Talos' Kubeconfig call and ``ClientConfigs/kubeconfig(cluster:server:secrets:now:)`` write it.
/// Errors name the field that is missing or wrong, never a value. The key is never printed.
public struct Kubeconfig: Sendable, Hashable, CustomStringConvertible, CustomReflectable {
    /// The context used (`current-context`, or the only one).
    public var context: String
    /// The API server URL, `https://<endpoint>:6443`.
    public var server: String
    /// The cluster's Kubernetes CA, PEM: the only CA the client trusts for the server.
    public var certificateAuthorityPEM: String
    public var clientCertificatePEM: String
    public var clientKeyPEM: String

    public init(context: String, server: String, certificateAuthorityPEM: String, clientCertificatePEM: String, clientKeyPEM: String) {
        self.context = context
        self.server = server
        self.certificateAuthorityPEM = certificateAuthorityPEM
        self.clientCertificatePEM = clientCertificatePEM
        self.clientKeyPEM = clientKeyPEM
    }

    public var description: String { "Kubeconfig(context: \(context), server: \(server), <credentials redacted>)" }
    public var customMirror: Mirror { Mirror(self, children: ["context": context, "server": server]) }

    /// Parses kubeconfig text. `source` names it in errors (a path, or "the kubeconfig from Talos").
    public init(parsing text: String, source: String = "the kubeconfig") throws(ClusterError) {
        func failure(_ message: String, hint: String? = nil) -> ClusterError {
            ClusterError(.secrets, "\(source): \(message)", hint: hint ?? "fetch a fresh admin kubeconfig with `talosctl kubeconfig` or `clusterctl gen config`")
        }
        let tree: YAMLTree
        do {
            tree = try YAMLTree.parse(text)
        } catch {
            throw failure("is not valid YAML")
        }
        guard case .mapping = tree else { throw failure("is not a YAML mapping") }

        func named(_ list: String, _ name: String) throws(ClusterError) -> YAMLTree {
            guard case .sequence(let items)? = tree[list] else { throw failure("has no `\(list)` list") }
            guard let entry = items.first(where: { $0["name"]?.stringValue == name }) else {
                throw failure("`\(list)` has no entry named \"\(name)\"")
            }
            return entry
        }
        let contextName: String
        if let current = tree["current-context"]?.stringValue, !current.isEmpty {
            contextName = current
        } else if case .sequence(let contexts)? = tree["contexts"], contexts.count == 1, let only = contexts[0]["name"]?.stringValue {
            contextName = only
        } else {
            throw failure("has no `current-context`, and not exactly one context to fall back on", hint: "set `current-context` to the context to use")
        }
        let context = try named("contexts", contextName)
        guard let clusterName = context.value(at: ["context", "cluster"])?.stringValue else {
            throw failure("context \"\(contextName)\" has no `context.cluster`")
        }
        guard let userName = context.value(at: ["context", "user"])?.stringValue else {
            throw failure("context \"\(contextName)\" has no `context.user`")
        }
        let cluster = try named("clusters", clusterName)
        let user = try named("users", userName)

        let clusterPath = "clusters[\(clusterName)].cluster"
        guard let server = cluster.value(at: ["cluster", "server"])?.stringValue, !server.isEmpty else {
            throw failure("\(clusterPath).server is missing")
        }
        guard let url = URL(string: server), url.scheme == "https", url.host != nil else {
            throw failure("\(clusterPath).server must be an https:// URL (the API server speaks TLS only)")
        }
        if cluster.value(at: ["cluster", "insecure-skip-tls-verify"]) == .bool(true) {
            throw failure(
                "\(clusterPath).insecure-skip-tls-verify is true; clusterctl always verifies the API server",
                hint: "remove it and set certificate-authority-data to the cluster's Kubernetes CA")
        }

        /// `parent.name` as base64 of PEM text holding `label`; a plain `name` without `-data` is a file path.
        func pem(_ node: YAMLTree, _ path: String, _ parent: String, _ name: String, label: String) throws(ClusterError) -> String {
            guard let encoded = node.value(at: [parent, name])?.stringValue, !encoded.isEmpty else {
                if node.value(at: [parent, String(name.dropLast("-data".count))]) != nil {
                    throw failure(
                        "\(path).\(name) is missing; the kubeconfig refers to a file instead, which clusterctl does not read",
                        hint: "embed the data: `kubectl config view --raw --flatten`")
                }
                throw failure("\(path).\(name) is missing")
            }
            guard let data = Data(base64Encoded: encoded.filter { !$0.isWhitespace }), let text = String(data: data, encoding: .utf8) else {
                throw failure("\(path).\(name) is not base64")
            }
            guard text.contains("-----BEGIN ") && text.contains(label) else {
                throw failure("\(path).\(name) is not a PEM \(label.lowercased())")
            }
            return text
        }
        let authority = try pem(cluster, clusterPath, "cluster", "certificate-authority-data", label: "CERTIFICATE")
        let userPath = "users[\(userName)].user"
        if user.value(at: ["user", "token"]) != nil || user.value(at: ["user", "exec"]) != nil {
            if user.value(at: ["user", "client-certificate-data"]) == nil {
                throw failure("\(userPath) authenticates with a token or an exec plugin; clusterctl needs a client certificate",
                    hint: "use the admin kubeconfig from `talosctl kubeconfig`")
            }
        }
        let certificate = try pem(user, userPath, "user", "client-certificate-data", label: "CERTIFICATE")
        let key = try pem(user, userPath, "user", "client-key-data", label: "PRIVATE KEY")

        do {
            _ = try Certificate(pemEncoded: authority)
        } catch {
            throw failure("\(clusterPath).certificate-authority-data does not hold a readable X.509 certificate")
        }
        let clientCertificate: Certificate
        do {
            clientCertificate = try Certificate(pemEncoded: certificate)
        } catch {
            throw failure("\(userPath).client-certificate-data does not hold a readable X.509 certificate")
        }
        let privateKey: Certificate.PrivateKey
        do {
            privateKey = try TalosPKI.parsePrivateKey(key)
        } catch {
            throw failure("\(userPath).client-key-data does not hold a readable private key")
        }
        guard privateKey.publicKey == clientCertificate.publicKey else {
            throw failure("\(userPath).client-key-data does not belong to client-certificate-data")
        }
        self.init(context: contextName, server: server, certificateAuthorityPEM: authority, clientCertificatePEM: certificate, clientKeyPEM: key)
    }
}
