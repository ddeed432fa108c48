public import ClusterKit
import Crypto
public import Foundation

/// A throwaway Ed25519 key pair for one image build: the rescue system accepts its public half,
/// the SSH transport authenticates with its private half, and both are gone after the build.
///
/// The private key is written in OpenSSH's own format (`openssh-key-v1`, PROTOCOL.key in the
/// OpenSSH sources), which libssh2 and `ssh-keygen` read; unencrypted, so the file is 0600 in a
/// 0700 directory and deleted with ``remove()``.
public struct EphemeralSSHKey: Sendable {
    /// `ssh-ed25519 AAAA... comment`, as Hetzner's SSH key API and authorized_keys take it.
    public let publicKeyLine: String
    /// Where the private key is stored.
    public let privateKeyFile: URL

    /// Generates a key pair and stores the private half in `directory`.
    public init(directory: URL, comment: String) throws(ClusterError) {
        let key = Curve25519.Signing.PrivateKey()
        let publicBytes = Array(key.publicKey.rawRepresentation)
        let seed = Array(key.rawRepresentation)
        var publicBlob = SSHWireWriter()
        publicBlob.string("ssh-ed25519")
        publicBlob.string(publicBytes)
        publicKeyLine = "ssh-ed25519 \(Data(publicBlob.bytes).base64EncodedString()) \(comment)"

        let check = UInt32.random(in: .min ... .max)
        var secret = SSHWireWriter()
        secret.uint32(check)
        secret.uint32(check)
        secret.string("ssh-ed25519")
        secret.string(publicBytes)
        secret.string(seed + publicBytes)
        secret.string(comment)
        var pad: UInt8 = 1
        while secret.bytes.count % 8 != 0 {
            secret.bytes.append(pad)
            pad += 1
        }
        var file = SSHWireWriter()
        file.bytes += Array("openssh-key-v1".utf8) + [0]
        file.string("none")
        file.string("none")
        file.string([UInt8]())
        file.uint32(1)
        file.string(publicBlob.bytes)
        file.string(secret.bytes)
        let body = Data(file.bytes).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        let pem = "-----BEGIN OPENSSH PRIVATE KEY-----\n\(body)\n-----END OPENSSH PRIVATE KEY-----\n"
        privateKeyFile = directory.appendingPathComponent("id_ed25519")
        try SecureFile.write(pem, to: privateKeyFile)
    }

    /// Deletes the private key.
    public func remove() {
        try? FileManager.default.removeItem(at: privateKeyFile)
    }
}
