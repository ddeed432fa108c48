public import Foundation
import X509
import SwiftASN1

/// The client configs a person uses to reach the cluster: a talosconfig and an admin kubeconfig.
public enum ClientConfigs {
    /// How far before `now` client certificates start: a client or node whose clock runs a few
    /// seconds behind would otherwise see a fresh certificate as not yet valid. Talos starts the
    /// admin kubeconfigs it issues 10 s in the past for the same reason (as reported against
    /// clusterctl in issue 13), so clusterctl does the same for both client configs.
    public static let clientCertificateBackdate: TimeInterval = 10

    /// Signs a client certificate valid from `now` − ``clientCertificateBackdate`` until `now` +
    /// `TalosPKI.clientCertificateValidity`.
    static func clientCertificate(
        subject: DistinguishedName, keyAlgorithm: TalosPKI.KeyAlgorithm, signedBy ca: PEMCertificateAndKey, now: Date
    ) throws -> PEMCertificateAndKey {
        var random = SystemRandomNumberGenerator()
        return try TalosPKI.clientCertificate(
            subject: subject, keyAlgorithm: keyAlgorithm, signedBy: ca, notBefore: now.addingTimeInterval(-clientCertificateBackdate),
            validity: TalosPKI.clientCertificateValidity + clientCertificateBackdate, using: &random)
    }

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
    /// Ed25519, valid one year from `now` (Talos's `NewAdminCertificateAndKey`), backdated by
    /// ``clientCertificateBackdate``. `now` is the wall clock, never a simulated one: real nodes
    /// check the certificate against their real clocks.
    public static func talosconfig(
        cluster: String, secrets: SecretsBundle, controlPlaneAddresses: [String], nodes: [String], now: Date
    ) throws(ClusterError) -> String {
        let client: PEMCertificateAndKey
        do {
            client = try clientCertificate(
                subject: try DistinguishedName { OrganizationName("os:admin") }, keyAlgorithm: .ed25519, signedBy: secrets.osCA, now: now)
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
    /// signed by the Kubernetes CA, valid one year from `now` (as `talosctl kubeconfig` issues it),
    /// backdated by ``clientCertificateBackdate``; `now` is the wall clock.
    public static func kubeconfig(cluster: String, server: String, secrets: SecretsBundle, now: Date) throws(ClusterError) -> String {
        let client: PEMCertificateAndKey
        do {
            client = try clientCertificate(
                subject: try DistinguishedName {
                    OrganizationName("system:masters")
                    CommonName("admin")
                }, keyAlgorithm: .ecdsaP256, signedBy: secrets.kubernetesCA, now: now)
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
