import ClusterKit
package import NIOSSL
import SwiftASN1

/// TLS settings that can talk to Talos' apid.
///
/// Every Talos API certificate is Ed25519, and BoringSSL (inside swift-nio-ssl) neither offers nor
/// accepts Ed25519 signatures unless asked: without the signature algorithm lists below the
/// handshake fails with NO_COMMON_SIGNATURE_ALGORITHMS (../shared/reference/talos/API-FACTS.md
/// section 1). apid speaks HTTP/2 only, negotiated through ALPN `h2`.
package enum TalosTLS {
    /// Ed25519 first (Talos), then what other Go TLS servers sign with.
    package static let signatureAlgorithms: [SignatureAlgorithm] = [
        .ed25519, .ecdsaSecp256R1Sha256, .ecdsaSecp384R1Sha384, .rsaPssRsaeSha256, .rsaPssRsaeSha384, .rsaPkcs1Sha256,
    ]

    /// Mutual TLS against the cluster's OS CA, presenting the client certificate.
    package static func client(_ credentials: TalosCredentials) throws(ProvisionerError) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["h2"]
        configuration.verifySignatureAlgorithms = signatureAlgorithms
        configuration.signingSignatureAlgorithms = [.ed25519]
        configuration.certificateVerification = .fullVerification
        do {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(credentials.caPEM.utf8)))
            configuration.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(credentials.certificatePEM.utf8)).map { .certificate($0) }
        } catch {
            throw ProvisionerError(.invalidInput, "the Talos client certificate or CA is not valid PEM", hint: "regenerate the talosconfig with `clusterctl gen config`")
        }
        configuration.privateKey = .privateKey(try privateKey(credentials.keyPEM))
        return configuration
    }

    /// What `talosctl apply-config --insecure` does for a node in maintenance mode: no client
    /// certificate, and no verification of the node's throw-away per-boot CA.
    package static func maintenance() -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["h2"]
        configuration.verifySignatureAlgorithms = signatureAlgorithms
        configuration.certificateVerification = .none
        return configuration
    }

    /// A private key from any of Talos' PEM encodings; `ED25519 PRIVATE KEY` is PKCS#8 under a
    /// label BoringSSL's PEM reader does not know, so the DER goes in directly.
    package static func privateKey(_ pem: String) throws(ProvisionerError) -> NIOSSLPrivateKey {
        do {
            let document = try PEMDocument(pemString: pem)
            return try NIOSSLPrivateKey(bytes: document.derBytes, format: .der)
        } catch {
            throw ProvisionerError(.invalidInput, "the Talos client key is not a readable private key PEM", hint: "regenerate the talosconfig with `clusterctl gen config`")
        }
    }
}
