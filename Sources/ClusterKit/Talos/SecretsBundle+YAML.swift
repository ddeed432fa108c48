import Foundation

extension SecretsBundle {
    /// The bundle in the exact layout `talosctl gen secrets` writes (go-yaml, 4-space indent,
    /// certificates and keys as base64 of their PEM text), so `talosctl gen config --with-secrets`
    /// reads it.
    public func talosYAML() -> String {
        var secrets: [YAMLEntry] = [YAMLEntry("bootstraptoken", .string(bootstrapToken))]
        if let aescbc = aescbcEncryptionSecret, !aescbc.isEmpty {
            secrets.append(YAMLEntry("aescbcencryptionsecret", .string(aescbc)))
        }
        if let secretbox = secretboxEncryptionSecret, !secretbox.isEmpty {
            secrets.append(YAMLEntry("secretboxencryptionsecret", .string(secretbox)))
        }
        func pair(_ value: PEMCertificateAndKey) -> YAMLTree {
            .obj(["crt": .string(Self.base64(value.certificatePEM)), "key": .string(Self.base64(value.keyPEM))])
        }
        let tree = YAMLTree.obj([
            "cluster": .obj(["id": .string(clusterID), "secret": .string(clusterSecret)]),
            "secrets": .mapping(secrets),
            "trustdinfo": .obj(["token": .string(trustdToken)]),
            "certs": .obj([
                "etcd": pair(etcdCA),
                "k8s": pair(kubernetesCA),
                "k8saggregator": pair(aggregatorCA),
                "k8sserviceaccount": .obj(["key": .string(Self.base64(serviceAccountKeyPEM))]),
                "os": pair(osCA),
            ]),
        ])
        return tree.emitted()
    }

    /// Reads a bundle written by `talosctl gen secrets` (or by ``talosYAML()``) and validates it.
    ///
    /// Errors name the missing or broken field, never a value.
    public init(talosYAML text: String) throws(ClusterError) {
        let tree: YAMLTree
        do {
            tree = try YAMLTree.parse(text)
        } catch {
            throw ClusterError(.secrets, "the secrets file is not valid YAML", hint: "check it was written by `talosctl gen secrets`")
        }
        func string(_ path: [String], required: Bool = true) throws(ClusterError) -> String? {
            guard let value = tree.value(at: path)?.stringValue, !value.isEmpty else {
                if required {
                    throw ClusterError(.secrets, "the secrets file has no \(path.joined(separator: "."))",
                        hint: "check it was written by `talosctl gen secrets`")
                }
                return nil
            }
            return value
        }
        func pem(_ path: [String]) throws(ClusterError) -> String {
            let encoded = try string(path) ?? ""
            guard let data = Data(base64Encoded: encoded), let text = String(data: data, encoding: .utf8),
                text.contains("-----BEGIN ")
            else {
                throw ClusterError(.secrets, "\(path.joined(separator: ".")) in the secrets file is not base64-encoded PEM")
            }
            return text
        }
        func pair(_ name: String) throws(ClusterError) -> PEMCertificateAndKey {
            PEMCertificateAndKey(certificatePEM: try pem(["certs", name, "crt"]), keyPEM: try pem(["certs", name, "key"]))
        }
        self.init(
            clusterID: try string(["cluster", "id"]) ?? "",
            clusterSecret: try string(["cluster", "secret"]) ?? "",
            bootstrapToken: try string(["secrets", "bootstraptoken"]) ?? "",
            secretboxEncryptionSecret: try string(["secrets", "secretboxencryptionsecret"], required: false),
            aescbcEncryptionSecret: try string(["secrets", "aescbcencryptionsecret"], required: false),
            trustdToken: try string(["trustdinfo", "token"]) ?? "",
            etcdCA: try pair("etcd"),
            kubernetesCA: try pair("k8s"),
            aggregatorCA: try pair("k8saggregator"),
            osCA: try pair("os"),
            serviceAccountKeyPEM: try pem(["certs", "k8sserviceaccount", "key"]))
        try validate()
    }

    static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
}
