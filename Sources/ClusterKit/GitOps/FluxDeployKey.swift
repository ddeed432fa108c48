import Crypto
public import Foundation

/// The SSH key Flux (and the bootstrap push) authenticates to the GitOps repository with.
///
/// Generated keys follow `flux bootstrap`'s default (fluxcd/flux2 v2.9.4 `pkg/manifestgen/sourcesecret`,
/// `--ssh-key-algorithm=ecdsa --ssh-ecdsa-curve=p384`): the private key as PKCS#8 PEM
/// (`-----BEGIN PRIVATE KEY-----`), the public key as an authorized_keys line. Keys a user gives
/// may also be in OpenSSH's own format, which ssh and Flux's source-controller both read.
///
/// The private key never appears in `description`, logs or errors.
public struct FluxDeployKey: Sendable, CustomStringConvertible {
    /// The curves `--ssh-ecdsa-curve` offers.
    public enum Curve: String, Sendable, CaseIterable {
        case p256, p384, p521
    }

    /// The private key file's text (PEM), for the Secret's `identity` and ssh's `-i`.
    public let privateKeyPEM: String
    /// `ecdsa-sha2-nistp384 AAAA...`: the Secret's `identity.pub` and the deploy key to register.
    public let publicKeyLine: String

    /// A new ECDSA key on `curve` (P-384 unless told otherwise, as flux does).
    public static func generate(curve: Curve = .p384) -> FluxDeployKey {
        switch curve {
        case .p256:
            let key = P256.Signing.PrivateKey()
            return FluxDeployKey(pem: key.pemRepresentation, curve: "nistp256", point: key.publicKey.x963Representation)
        case .p384:
            let key = P384.Signing.PrivateKey()
            return FluxDeployKey(pem: key.pemRepresentation, curve: "nistp384", point: key.publicKey.x963Representation)
        case .p521:
            let key = P521.Signing.PrivateKey()
            return FluxDeployKey(pem: key.pemRepresentation, curve: "nistp521", point: key.publicKey.x963Representation)
        }
    }

    private init(pem: String, curve: String, point: Data) {
        var blob = SSHWireWriter()
        blob.string("ecdsa-sha2-\(curve)")
        blob.string(curve)
        blob.string(Array(point))
        self.init(pem: pem, publicKeyLine: "ecdsa-sha2-\(curve) \(Data(blob.bytes).base64EncodedString())")
    }

    private init(pem: String, publicKeyLine: String) {
        privateKeyPEM = pem.hasSuffix("\n") ? pem : pem + "\n"
        self.publicKeyLine = publicKeyLine
    }

    /// Reads a private key a user gave: ECDSA in PKCS#8 or SEC1 PEM, or any unencrypted key in
    /// OpenSSH's format (its public half is stored in the clear, PROTOCOL.key in the OpenSSH sources).
    public init(privateKeyPEM text: String, origin: String) throws(ClusterError) {
        let pem = text.trimmingCharacters(in: .whitespacesAndNewlines) + "\n"
        if pem.hasPrefix("-----BEGIN OPENSSH PRIVATE KEY-----") {
            let (keyType, blob, encrypted) = try Self.openSSHPublicBlob(pem, origin: origin)
            if encrypted {
                throw ClusterError(.secrets, "the deploy key in \(origin) is protected by a passphrase",
                    hint: "give a key without a passphrase (it is stored 0600 and in the flux-system Secret): ssh-keygen -p -N '' -f <file>")
            }
            self.init(pem: pem, publicKeyLine: "\(keyType) \(Data(blob).base64EncodedString())")
            return
        }
        if let key = try? P384.Signing.PrivateKey(pemRepresentation: pem) {
            self.init(pem: pem, curve: "nistp384", point: key.publicKey.x963Representation)
        } else if let key = try? P256.Signing.PrivateKey(pemRepresentation: pem) {
            self.init(pem: pem, curve: "nistp256", point: key.publicKey.x963Representation)
        } else if let key = try? P521.Signing.PrivateKey(pemRepresentation: pem) {
            self.init(pem: pem, curve: "nistp521", point: key.publicKey.x963Representation)
        } else if pem.contains("ENCRYPTED") {
            throw ClusterError(.secrets, "the deploy key in \(origin) is encrypted",
                hint: "give a key without a passphrase (it is stored 0600 and in the flux-system Secret)")
        } else {
            throw ClusterError(.secrets, "\(origin) holds no SSH private key clusterctl can read",
                hint: "use an OpenSSH key (ssh-keygen -t ed25519 -N '') or an ECDSA key in PEM; or remove gitops.credentialsFile to have one generated")
        }
    }

    /// Where a generated key is kept: `<cluster directory>/flux-deploy-key`, next to the secrets bundle.
    public static func defaultFile(cluster: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        SecretsStore.defaultDirectory(cluster: cluster, environment: environment).appendingPathComponent("flux-deploy-key")
    }

    /// Loads the key at `file`, or generates one and stores it there (0600, atomically; two
    /// racing runs never overwrite each other). `generated` says which happened.
    public static func loadOrGenerate(at file: URL, curve: Curve = .p384) throws(ClusterError) -> (key: FluxDeployKey, generated: Bool) {
        if SecureFile.exists(file) {
            return (try FluxDeployKey(privateKeyPEM: try SecureFile.read(file), origin: file.path), false)
        }
        let key = generate(curve: curve)
        do {
            try SecureFile.createExclusively(key.privateKeyPEM, at: file)
        } catch where error.code == .refused {
            // Another run created it first: use theirs, so the registered deploy key stays valid.
            return (try FluxDeployKey(privateKeyPEM: try SecureFile.read(file), origin: file.path), false)
        }
        try SecureFile.write(key.publicKeyLine + "\n", to: file.appendingPathExtension("pub"), mode: 0o644)
        return (key, true)
    }

    /// What to tell a person about a key they still have to register.
    public func deployKeyNotice(repository: String, file: URL) -> String {
        """
        generated a Flux deploy key (ECDSA) in \(file.path)
        add this public key as a deploy key with write access to \(repository)
        (GitHub: Settings > Deploy keys > Add deploy key, tick "Allow write access";
         GitLab: Settings > Repository > Deploy keys, tick "Grant write permissions"):
        \(publicKeyLine)
        """
    }

    public var description: String { "deploy key \(publicKeyLine.prefix(40))... (private half redacted)" }

    /// The key type, the public key blob and whether the private part is encrypted, from an
    /// `openssh-key-v1` file.
    private static func openSSHPublicBlob(_ pem: String, origin: String) throws(ClusterError) -> (String, [UInt8], Bool) {
        let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        let magic = Array("openssh-key-v1".utf8) + [0]
        guard let data = Data(base64Encoded: body), data.count > magic.count, Array(data.prefix(magic.count)) == magic else {
            throw ClusterError(.secrets, "\(origin) is not a valid OpenSSH private key", hint: "check the file, or regenerate it with ssh-keygen")
        }
        var reader = SSHWireReader(bytes: Array(data.dropFirst(magic.count)))
        guard let cipher = reader.string(), reader.string() != nil, reader.string() != nil, let count = reader.uint32(), count == 1,
            let blob = reader.string()
        else {
            throw ClusterError(.secrets, "\(origin) is not a single-key OpenSSH private key", hint: "give one key per file")
        }
        var blobReader = SSHWireReader(bytes: blob)
        guard let keyType = blobReader.string().map({ String(decoding: $0, as: UTF8.self) }) else {
            throw ClusterError(.secrets, "\(origin) is not a valid OpenSSH private key", hint: "check the file, or regenerate it with ssh-keygen")
        }
        return (keyType, blob, String(decoding: cipher, as: UTF8.self) != "none")
    }
}
