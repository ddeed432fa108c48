public import Foundation
import Crypto
import SwiftASN1
import X509

/// The secrets of one Talos cluster, the same content `talosctl gen secrets` writes: created once,
/// kept forever (losing it loses the cluster).
///
/// Mirrors siderolabs/talos `pkg/machinery/config/generate/secrets/secrets.go` (`Bundle`) and
/// `bundle.go` (`populate`):
/// - cluster id and secret: 32 random bytes each, the id base64url-encoded
///   (`cluster.ClusterIDEncoding`), the secret standard base64;
/// - bootstrap token and trustd token: `[a-z0-9]{6}.[a-z0-9]{16}` (`genToken(6, 16)`);
/// - secretbox encryption secret: 32 random bytes, base64 (`cis.CreateEncryptionToken`), for
///   contracts after 1.2 (older ones used `aescbcencryptionsecret`, still read and written here);
/// - etcd, Kubernetes and aggregator CAs: ECDSA P-256; OS CA: Ed25519; each valid 10 years;
/// - service-account key: RSA 4096 when the contract is after 1.6
///   (`VersionContract.UseRSAServiceAccountKey` is `Greater(TalosVersion1_6)`), else ECDSA P-256.
///
/// `description` never shows a secret.
public struct SecretsBundle: Sendable, Hashable, CustomStringConvertible, CustomReflectable {
    public var clusterID: String
    public var clusterSecret: String
    public var bootstrapToken: String
    /// Set for contracts after 1.2.
    public var secretboxEncryptionSecret: String?
    /// Set only by bundles from Talos 1.2 and earlier.
    public var aescbcEncryptionSecret: String?
    public var trustdToken: String
    public var etcdCA: PEMCertificateAndKey
    public var kubernetesCA: PEMCertificateAndKey
    public var aggregatorCA: PEMCertificateAndKey
    /// The Talos API CA.
    public var osCA: PEMCertificateAndKey
    public var serviceAccountKeyPEM: String

    public init(
        clusterID: String, clusterSecret: String, bootstrapToken: String, secretboxEncryptionSecret: String?,
        aescbcEncryptionSecret: String? = nil, trustdToken: String, etcdCA: PEMCertificateAndKey,
        kubernetesCA: PEMCertificateAndKey, aggregatorCA: PEMCertificateAndKey, osCA: PEMCertificateAndKey,
        serviceAccountKeyPEM: String
    ) {
        self.clusterID = clusterID
        self.clusterSecret = clusterSecret
        self.bootstrapToken = bootstrapToken
        self.secretboxEncryptionSecret = secretboxEncryptionSecret
        self.aescbcEncryptionSecret = aescbcEncryptionSecret
        self.trustdToken = trustdToken
        self.etcdCA = etcdCA
        self.kubernetesCA = kubernetesCA
        self.aggregatorCA = aggregatorCA
        self.osCA = osCA
        self.serviceAccountKeyPEM = serviceAccountKeyPEM
    }

    public var description: String { "SecretsBundle(<redacted>)" }

    /// Keeps `dump` and debuggers from listing the secrets.
    public var customMirror: Mirror { Mirror(self, children: []) }

    /// Generates a new bundle for a Talos version, with a system random source.
    ///
    /// - Parameter now: the CA validity start (Talos uses its clock's now).
    public static func generate(talosVersion: SemanticVersion, now: Date = Date()) throws(ClusterError) -> SecretsBundle {
        var random = SystemRandomNumberGenerator()
        return try generate(talosVersion: talosVersion, now: now, using: &random)
    }

    /// Generates a new bundle. `random` feeds the tokens, identifiers and serial numbers; the
    /// private keys always come from swift-crypto's system random source.
    public static func generate<R: RandomNumberGenerator>(
        talosVersion: SemanticVersion, now: Date, using random: inout R
    ) throws(ClusterError) -> SecretsBundle {
        let useRSA = talosVersion >= SemanticVersion(major: 1, minor: 7, patch: 0)
        do {
            let etcd = try TalosPKI.selfSignedCA(
                subject: try DistinguishedName { OrganizationName("etcd") }, algorithm: .ecdsaP256, notBefore: now,
                using: &random)
            let kubernetes = try TalosPKI.selfSignedCA(
                subject: try DistinguishedName { OrganizationName("kubernetes") }, algorithm: .ecdsaP256,
                notBefore: now, using: &random)
            let aggregator = try TalosPKI.selfSignedCA(
                subject: try DistinguishedName { CommonName("front-proxy") }, algorithm: .ecdsaP256, notBefore: now,
                using: &random)
            let os = try TalosPKI.selfSignedCA(
                subject: try DistinguishedName { OrganizationName("talos") }, algorithm: .ed25519, notBefore: now,
                using: &random)
            let serviceAccount = try TalosPKI.generateKey(useRSA ? .rsa : .ecdsaP256).1
            return SecretsBundle(
                clusterID: randomBytes(32, using: &random).base64URLEncoded(),
                clusterSecret: Data(randomBytes(32, using: &random)).base64EncodedString(),
                bootstrapToken: token(using: &random),
                secretboxEncryptionSecret: Data(randomBytes(32, using: &random)).base64EncodedString(),
                trustdToken: token(using: &random),
                etcdCA: etcd, kubernetesCA: kubernetes, aggregatorCA: aggregator, osCA: os,
                serviceAccountKeyPEM: serviceAccount)
        } catch let error as ClusterError {
            throw error
        } catch {
            throw ClusterError(.secrets, "generating the cluster's certificates and keys failed", cause: error)
        }
    }

    /// A bootstrap-style token, `[a-z0-9]{6}.[a-z0-9]{16}`.
    static func token<R: RandomNumberGenerator>(using random: inout R) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        func part(_ length: Int) -> String {
            String((0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &random)] })
        }
        let first = part(6)
        return first + "." + part(16)
    }

    static func randomBytes<R: RandomNumberGenerator>(_ count: Int, using random: inout R) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
    }

    /// Checks every field is present and every certificate and key parses, as Talos's
    /// `Bundle.Validate` does.
    public func validate() throws(ClusterError) {
        var problems: [String] = []
        if clusterID.isEmpty { problems.append("cluster.id is required") }
        if clusterSecret.isEmpty { problems.append("cluster.secret is required") }
        if bootstrapToken.isEmpty { problems.append("secrets.bootstraptoken is required") }
        if (secretboxEncryptionSecret ?? "").isEmpty && (aescbcEncryptionSecret ?? "").isEmpty {
            problems.append("one of secrets.secretboxencryptionsecret, secrets.aescbcencryptionsecret is required")
        }
        if trustdToken.isEmpty { problems.append("trustdinfo.token is required") }
        for (name, pair) in [("etcd", etcdCA), ("k8s", kubernetesCA), ("k8saggregator", aggregatorCA), ("os", osCA)] {
            do {
                _ = try Certificate(pemEncoded: pair.certificatePEM)
                _ = try TalosPKI.parsePrivateKey(pair.keyPEM)
            } catch {
                problems.append("certs.\(name) is invalid")
            }
        }
        do { _ = try TalosPKI.parsePrivateKey(serviceAccountKeyPEM) } catch {
            problems.append("certs.k8sserviceaccount.key is invalid")
        }
        if !problems.isEmpty {
            throw ClusterError(
                .secrets, "the secrets bundle is incomplete: " + problems.joined(separator: "; "),
                hint: "import a complete bundle written by `talosctl gen secrets`")
        }
    }
}

extension [UInt8] {
    func base64URLEncoded() -> String {
        Data(self).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }
}
