/// A client certificate and its private key, PEM, presented in the TLS handshake (mutual TLS, as
/// the Kubernetes API server asks of an admin kubeconfig's user).
///
/// Handed to libcurl as in-memory blobs (`CURLOPT_SSLCERT_BLOB`, `CURLOPT_SSLKEY_BLOB`), never
/// written to a file. The key never appears in `description` or a debugger's mirror.
public struct TLSClientIdentity: Sendable, Hashable, CustomStringConvertible, CustomReflectable {
    /// The client certificate, PEM (intermediates may follow it).
    public var certificatePEM: String
    /// Its private key, PEM (SEC1 `EC PRIVATE KEY`, PKCS#1 or PKCS#8).
    public var keyPEM: String

    public init(certificatePEM: String, keyPEM: String) {
        self.certificatePEM = certificatePEM
        self.keyPEM = keyPEM
    }

    public var description: String { "TLSClientIdentity(<redacted>)" }
    public var customMirror: Mirror { Mirror(self, children: []) }
}
