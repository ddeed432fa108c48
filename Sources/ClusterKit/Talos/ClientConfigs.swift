public import Foundation
import X509
import SwiftASN1

/// The client configs a person uses to reach the cluster: a talosconfig and an admin kubeconfig.
public enum ClientConfigs {
    /// A talosconfig as talosctl reads it (siderolabs/talos `pkg/machinery/client/config`:
    /// `context`, then `contexts.<name>` with `endpoints`, `nodes`, `ca`, `crt`, `key`, the last
    /// three base64 of PEM). The context is named after the cluster.
    ///
    /// `controlPlaneAddresses` become the endpoints: the control-plane nodes' own addresses, never
    /// the floating IP or VIP. The talosctl docs ("Endpoints and Nodes") recommend endpoints that
    /// point at the set of control-plane nodes; a shared IP only answers on whichever node holds
    /// it (the Talos "Virtual (shared) IP" guide: the VIP is elected through etcd), so talosctl
    /// loses the cluster exactly when the address moves or etcd is unhealthy.
    /// The client certificate is signed by the OS CA with the `os:admin` role as organization,
    /// Ed25519, valid one year from `now` (Talos's `NewAdminCertificateAndKey`).
    public static func talosconfig(
        cluster: String, secrets: SecretsBundle, controlPlaneAddresses: [String], nodes: [String], now: Date
    ) throws(ClusterError) -> String {
        var random = SystemRandomNumberGenerator()
        let client: PEMCertificateAndKey
        do {
            client = try TalosPKI.clientCertificate(
                subject: try DistinguishedName { OrganizationName("os:admin") }, keyAlgorithm: .ed25519,
                signedBy: secrets.osCA, notBefore: now, validity: TalosPKI.clientCertificateValidity, using: &random)
        } catch {
            throw ClusterError(.secrets, "signing the talosconfig client certificate failed", cause: error)
        }
        let tree = YAMLTree.obj([
            "context": .string(cluster),
            "contexts": .obj([
                cluster: .obj([
                    "endpoints": .strings(controlPlaneAddresses),
                    "nodes": .strings(nodes),
                    "ca": .string(SecretsBundle.base64(secrets.osCA.certificatePEM)),
                    "crt": .string(SecretsBundle.base64(client.certificatePEM)),
                    "key": .string(SecretsBundle.base64(client.keyPEM)),
                ])
            ]),
        ])
        return tree.emitted()
    }

    /// An admin kubeconfig as kubectl reads it (Kubernetes `clientcmd/api/v1` `Config`): cluster
    /// named after the cluster with `server` the API endpoint URL and the Kubernetes CA; user and
    /// context `admin@<cluster>`; client certificate `CN=admin`, `O=system:masters`, ECDSA P-256,
    /// signed by the Kubernetes CA, valid one year from `now` (as `talosctl kubeconfig` issues it).
    public static func kubeconfig(cluster: String, server: String, secrets: SecretsBundle, now: Date) throws(ClusterError) -> String {
        var random = SystemRandomNumberGenerator()
        let client: PEMCertificateAndKey
        do {
            client = try TalosPKI.clientCertificate(
                subject: try DistinguishedName {
                    OrganizationName("system:masters")
                    CommonName("admin")
                }, keyAlgorithm: .ecdsaP256, signedBy: secrets.kubernetesCA, notBefore: now,
                validity: TalosPKI.clientCertificateValidity, using: &random)
        } catch {
            throw ClusterError(.secrets, "signing the kubeconfig client certificate failed", cause: error)
        }
        let user = "admin@\(cluster)"
        let tree = YAMLTree.obj([
            "apiVersion": .string("v1"),
            "kind": .string("Config"),
            "clusters": .sequence([
                .obj([
                    "name": .string(cluster),
                    "cluster": .obj([
                        "server": .string(server),
                        "certificate-authority-data": .string(SecretsBundle.base64(secrets.kubernetesCA.certificatePEM)),
                    ]),
                ])
            ]),
            "users": .sequence([
                .obj([
                    "name": .string(user),
                    "user": .obj([
                        "client-certificate-data": .string(SecretsBundle.base64(client.certificatePEM)),
                        "client-key-data": .string(SecretsBundle.base64(client.keyPEM)),
                    ]),
                ])
            ]),
            "contexts": .sequence([
                .obj([
                    "name": .string(user),
                    "context": .obj(["cluster": .string(cluster), "namespace": .string("default"), "user": .string(user)]),
                ])
            ]),
            "current-context": .string(user),
        ])
        return tree.emitted()
    }
}
