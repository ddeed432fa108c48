public import ClusterKit
import Crypto
public import Foundation
import SwiftASN1
import X509

/// Certificates for ``TalosAPIPeer`` and its tests, made as Talos makes them
/// (../shared/reference/talos/API-FACTS.md section 1): Ed25519 keys, PEM label `ED25519 PRIVATE KEY`.
public enum TalosPeerCertificates {
    /// A node's apid server certificate: signed by `ca`, EKU ServerAuth, SANs the node's addresses
    /// and 127.0.0.1 (Talos `generateControlPlane` and `api_cert_sans.go`).
    public static func server(commonName: String, addresses: [String], dnsNames: [String] = [], signedBy ca: PEMCertificateAndKey) throws -> PEMCertificateAndKey {
        var names: [GeneralName] = dnsNames.map { .dnsName($0) }
        for address in Set(addresses + ["127.0.0.1"]).sorted() {
            if let bytes = ipv4Bytes(address) { names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes)))) }
        }
        let sans = names
        return try leaf(subject: try DistinguishedName { CommonName(commonName) }, signedBy: ca) {
            Critical(KeyUsage(digitalSignature: true))
            try ExtendedKeyUsage([.serverAuth])
            SubjectAlternativeNames(sans)
        }
    }

    /// A client certificate with roles as O values, signed by `ca`, with the given extended key
    /// usages (Talos' own is exactly `[clientAuth]`; tests vary it to see apid refuse).
    public static func client(roles: [String], signedBy ca: PEMCertificateAndKey, usages: [Purpose] = [.clientAuth]) throws -> PEMCertificateAndKey {
        let subject = DistinguishedName(roles.map { RelativeDistinguishedName(.init(type: .RDNAttributeType.organizationName, utf8String: $0)) })
        return try leaf(subject: subject, signedBy: ca) {
            Critical(KeyUsage(digitalSignature: true))
            try ExtendedKeyUsage(usages.map { $0 == .serverAuth ? ExtendedKeyUsage.Usage.serverAuth : .clientAuth })
        }
    }

    /// An extended key usage purpose.
    public enum Purpose: String, Sendable {
        case serverAuth
        case clientAuth
    }

    /// A self-signed Ed25519 CA: another cluster's OS CA, or a node's per-boot maintenance CA
    /// (Talos `secrets/maintenance_root.go`).
    public static func selfSignedCA(organization: String) throws -> PEMCertificateAndKey {
        let key = Curve25519.Signing.PrivateKey()
        let wrapped = Certificate.PrivateKey(key)
        let subject = try DistinguishedName { OrganizationName(organization) }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: wrapped.publicKey,
            notValidBefore: now.addingTimeInterval(-60), notValidAfter: now.addingTimeInterval(87600 * 3600),
            issuer: subject, subject: subject,
            extensions: try Certificate.Extensions {
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
            },
            issuerPrivateKey: wrapped)
        return PEMCertificateAndKey(certificatePEM: try certificate.serializeAsPEM().pemString + "\n", keyPEM: try pem(wrapped))
    }

    private static func leaf(
        subject: DistinguishedName, signedBy ca: PEMCertificateAndKey, @ExtensionsBuilder extensions: () throws -> Result<Certificate.Extensions, any Error>
    ) throws -> PEMCertificateAndKey {
        let caCertificate = try Certificate(pemEncoded: ca.certificatePEM)
        let caKey = try privateKey(ca.keyPEM)
        let key = Certificate.PrivateKey(Curve25519.Signing.PrivateKey())
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
            notValidBefore: now.addingTimeInterval(-60), notValidAfter: now.addingTimeInterval(365 * 24 * 3600),
            issuer: caCertificate.subject, subject: subject,
            extensions: try Certificate.Extensions(builder: extensions), issuerPrivateKey: caKey)
        return PEMCertificateAndKey(certificatePEM: try certificate.serializeAsPEM().pemString + "\n", keyPEM: try pem(key))
    }

    /// Talos' key PEM: PKCS#8 under the label `ED25519 PRIVATE KEY`.
    private static func pem(_ key: Certificate.PrivateKey) throws -> String {
        PEMDocument(type: "ED25519 PRIVATE KEY", derBytes: try key.serializeAsPEM().derBytes).pemString + "\n"
    }

    static func privateKey(_ pem: String) throws -> Certificate.PrivateKey {
        let document = try PEMDocument(pemString: pem)
        if document.discriminator == "ED25519 PRIVATE KEY" { return try Certificate.PrivateKey(derBytes: document.derBytes) }
        return try Certificate.PrivateKey(pemDocument: document)
    }

    private static func ipv4Bytes(_ address: String) -> [UInt8]? {
        let parts = address.split(separator: ".").compactMap { UInt8($0) }
        return parts.count == 4 ? parts : nil
    }
}
