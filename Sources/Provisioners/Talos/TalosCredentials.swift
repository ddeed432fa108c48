public import ClusterKit
public import Foundation

/// What a Talos API client presents and trusts: the cluster's OS CA and a client certificate with
/// its key, as a talosconfig holds them (`ca`, `crt`, `key`). The key PEM is Talos' non-standard
/// `ED25519 PRIVATE KEY` block (PKCS#8 inside, ../shared/reference/talos/API-FACTS.md section 1).
///
/// `description` never shows the key.
public struct TalosCredentials: Sendable, Hashable, CustomStringConvertible, CustomReflectable {
    public var caPEM: String
    public var certificatePEM: String
    public var keyPEM: String

    public init(caPEM: String, certificatePEM: String, keyPEM: String) {
        self.caPEM = caPEM
        self.certificatePEM = certificatePEM
        self.keyPEM = keyPEM
    }

    /// A fresh client certificate for `roles` (default `os:admin`, what clusterctl needs),
    /// signed by the cluster's OS CA from the secrets bundle.
    public static func issued(from secrets: SecretsBundle, roles: [String] = ["os:admin"], now: Date = Date()) throws(ClusterError) -> TalosCredentials {
        let client = try TalosPKI.osClientCertificate(roles: roles, secrets: secrets, now: now)
        return TalosCredentials(caPEM: secrets.osCA.certificatePEM, certificatePEM: client.certificatePEM, keyPEM: client.keyPEM)
    }

    public var description: String { "TalosCredentials(ca, certificate, key: <redacted>)" }

    public var customMirror: Mirror { Mirror(self, children: []) }
}
