public import Foundation
import Crypto
import _CryptoExtras
import SwiftASN1
import X509

/// Certificate and key generation the way Talos does it, on swift-crypto and swift-certificates.
///
/// Facts from the Talos sources (siderolabs/talos `pkg/machinery/config/generate/secrets/ca.go`
/// and siderolabs/crypto `x509/x509.go`):
/// - CAs are self-signed, valid `CAValidityTime = 87600h` (10 years) from the generation time,
///   with key usage digital signature + certificate sign (critical), extended key usage server and
///   client auth, basic constraints CA (critical) and a subject key identifier.
/// - etcd CA: `O=etcd`, Kubernetes CA: `O=kubernetes`, aggregator CA: `CN=front-proxy`, all
///   ECDSA P-256; the Talos OS CA: `O=talos`, Ed25519.
/// - Serial numbers are random 128-bit values.
/// - PEM labels: `EC PRIVATE KEY` (SEC1) for ECDSA, `ED25519 PRIVATE KEY` (PKCS#8) for Ed25519,
///   `RSA PRIVATE KEY` (PKCS#1, 4096 bits) for RSA.
public enum TalosPKI {
    /// 87600 hours, Talos's `secrets.CAValidityTime`.
    public static let caValidity: TimeInterval = 87600 * 3600
    /// One year, Talos's `constants.TalosAPIDefaultCertificateValidityDuration` for client certs.
    public static let clientCertificateValidity: TimeInterval = 365 * 24 * 3600

    /// The key algorithms Talos uses.
    public enum KeyAlgorithm: String, Sendable, Hashable {
        case ecdsaP256
        case ed25519
        case rsa
    }

    static let ed25519PEMLabel = "ED25519 PRIVATE KEY"

    /// A new private key and its PEM text in Talos's encoding.
    static func generateKey(_ algorithm: KeyAlgorithm) throws -> (Certificate.PrivateKey, String) {
        try metered { () throws -> (Certificate.PrivateKey, String) in try unmeteredKey(algorithm) }
    }

    private static func unmeteredKey(_ algorithm: KeyAlgorithm) throws -> (Certificate.PrivateKey, String) {
        switch algorithm {
        case .ecdsaP256:
            let key = P256.Signing.PrivateKey()
            return (Certificate.PrivateKey(key), try SEC1PrivateKeyDocument(privateKey: key).pemString() + "\n")
        case .ed25519:
            let key = Curve25519.Signing.PrivateKey()
            let wrapped = Certificate.PrivateKey(key)
            let pkcs8 = try wrapped.serializeAsPEM()
            return (wrapped, PEMDocument(type: ed25519PEMLabel, derBytes: pkcs8.derBytes).pemString + "\n")
        case .rsa:
            let key = try _RSA.Signing.PrivateKey(keySize: .bits4096)
            return (Certificate.PrivateKey(key), key.pemRepresentation + "\n")
        }
    }

    /// Reads a private key PEM in any of Talos's encodings.
    static func parsePrivateKey(_ pem: String) throws -> Certificate.PrivateKey {
        let document = try PEMDocument(pemString: pem)
        if document.discriminator == ed25519PEMLabel {
            return try Certificate.PrivateKey(derBytes: document.derBytes)
        }
        return try Certificate.PrivateKey(pemDocument: document)
    }

    /// The algorithm of a PEM private key.
    public static func keyAlgorithm(ofPEM pem: String) throws(ClusterError) -> KeyAlgorithm {
        do {
            let publicKey = try parsePrivateKey(pem).publicKey
            if P256.Signing.PublicKey(publicKey) != nil { return .ecdsaP256 }
            if Curve25519.Signing.PublicKey(publicKey) != nil { return .ed25519 }
            if let rsa = _RSA.Signing.PublicKey(publicKey), rsa.keySizeInBits >= 2048 { return .rsa }
            throw ClusterError(.secrets, "unsupported private key type \(publicKey)")
        } catch let error as ClusterError {
            throw error
        } catch {
            throw ClusterError(.secrets, "a private key in the secrets could not be read", cause: error)
        }
    }

    /// `date` without its fraction of a second. swift-certificates rounds certificate times to the
    /// nearest second, so a NotBefore of `now` could land up to half a second in the future and the
    /// certificate would not be valid yet for its first use (Go's x509 truncates instead).
    static func wholeSeconds(_ date: Date) -> Date {
        Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
    }

    static func randomSerial<R: RandomNumberGenerator>(using random: inout R) -> Certificate.SerialNumber {
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &random) }
        bytes[0] &= 0x7F
        if bytes[0] == 0 { bytes[0] = 1 }
        return Certificate.SerialNumber(bytes: bytes)
    }

    /// A self-signed CA as Talos's `x509.NewSelfSignedCertificateAuthority` builds it.
    static func selfSignedCA<R: RandomNumberGenerator>(
        subject: DistinguishedName, algorithm: KeyAlgorithm, notBefore: Date, using random: inout R
    ) throws -> PEMCertificateAndKey {
        let (key, keyPEM) = try generateKey(algorithm)
        let extensions = try Certificate.Extensions {
            Critical(KeyUsage(digitalSignature: true, keyCertSign: true))
            try ExtendedKeyUsage([.serverAuth, .clientAuth])
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
            SubjectKeyIdentifier(hash: key.publicKey)
        }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: randomSerial(using: &random),
            publicKey: key.publicKey,
            notValidBefore: wholeSeconds(notBefore),
            notValidAfter: wholeSeconds(notBefore).addingTimeInterval(caValidity),
            issuer: subject,
            subject: subject,
            extensions: extensions,
            issuerPrivateKey: key
        )
        return PEMCertificateAndKey(certificatePEM: try certificate.serializeAsPEM().pemString + "\n", keyPEM: keyPEM)
    }

    /// A client certificate signed by `ca`: key usage digital signature, extended key usage
    /// client auth (Talos's `NewAdminCertificateAndKey`, and the kubeconfig admin certificate).
    static func clientCertificate<R: RandomNumberGenerator>(
        subject: DistinguishedName, keyAlgorithm: KeyAlgorithm, signedBy ca: PEMCertificateAndKey,
        notBefore: Date, validity: TimeInterval, using random: inout R
    ) throws -> PEMCertificateAndKey {
        let caCertificate = try Certificate(pemEncoded: ca.certificatePEM)
        let caKey = try parsePrivateKey(ca.keyPEM)
        let (key, keyPEM) = try generateKey(keyAlgorithm)
        let extensions = try Certificate.Extensions {
            Critical(KeyUsage(digitalSignature: true))
            try ExtendedKeyUsage([.clientAuth])
            if let authority = try caCertificate.extensions.subjectKeyIdentifier {
                AuthorityKeyIdentifier(keyIdentifier: authority.keyIdentifier)
            }
        }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: randomSerial(using: &random),
            publicKey: key.publicKey,
            notValidBefore: wholeSeconds(notBefore),
            notValidAfter: wholeSeconds(notBefore).addingTimeInterval(validity),
            issuer: caCertificate.subject,
            subject: subject,
            extensions: extensions,
            issuerPrivateKey: caKey
        )
        return PEMCertificateAndKey(certificatePEM: try certificate.serializeAsPEM().pemString + "\n", keyPEM: keyPEM)
    }
}
