public import Foundation
import X509
import SwiftASN1

extension TalosPKI {
    /// A Talos API client certificate signed by the cluster's OS CA, as talosctl's admin
    /// certificate is made (Talos `NewAdminCertificateAndKey`: no CN, O = the role names, Ed25519,
    /// key usage digital signature, extended key usage client auth, valid one year from `now`).
    /// Roles are `os:admin`, `os:operator`, `os:reader`, `os:etcd:backup` (Talos `pkg/machinery/role`).
    public static func osClientCertificate(roles: [String], secrets: SecretsBundle, now: Date) throws(ClusterError) -> PEMCertificateAndKey {
        var random = SystemRandomNumberGenerator()
        do {
            let subject = DistinguishedName(roles.map { RelativeDistinguishedName(.init(type: .RDNAttributeType.organizationName, utf8String: $0)) })
            return try clientCertificate(
                subject: subject, keyAlgorithm: .ed25519, signedBy: secrets.osCA, notBefore: now,
                validity: clientCertificateValidity, using: &random)
        } catch {
            throw ClusterError(.secrets, "signing a Talos API client certificate failed", cause: error)
        }
    }
}
