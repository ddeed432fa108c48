/// A PEM certificate and its PEM private key, as Talos keeps each CA in the secrets bundle and in
/// machine configs (there base64-encoded, the `crt`/`key` pair of siderolabs/crypto's
/// `PEMEncodedCertificateAndKey`).
///
/// `description` never shows the key.
public struct PEMCertificateAndKey: Sendable, Hashable, CustomStringConvertible, CustomReflectable {
    /// `-----BEGIN CERTIFICATE-----` text.
    public var certificatePEM: String
    /// The private key PEM (`EC PRIVATE KEY`, `ED25519 PRIVATE KEY` or `RSA PRIVATE KEY`); empty
    /// where only the certificate is known (a worker's view of the OS CA).
    public var keyPEM: String

    public init(certificatePEM: String, keyPEM: String) {
        self.certificatePEM = certificatePEM
        self.keyPEM = keyPEM
    }

    public var description: String { "PEMCertificateAndKey(certificate, key: <redacted>)" }

    public var customMirror: Mirror { Mirror(self, children: []) }
}
