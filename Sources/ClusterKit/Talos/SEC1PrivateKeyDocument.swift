import Crypto
import SwiftASN1

/// An ECDSA P-256 private key as an RFC 5915 `ECPrivateKey` (SEC1) with the named-curve
/// parameters present, which is what Go's `x509.MarshalECPrivateKey` writes and
/// `x509.ParseECPrivateKey` (used by Talos on `EC PRIVATE KEY` blocks) requires. swift-crypto's
/// own PEM output is PKCS#8, whose inner SEC1 omits the curve, so Talos could not read it.
struct SEC1PrivateKeyDocument: DERSerializable {
    let privateKey: P256.Signing.PrivateKey

    func serialize(into coder: inout DER.Serializer) throws {
        try coder.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(1)
            try coder.serialize(ASN1OctetString(contentBytes: ArraySlice(privateKey.rawRepresentation)))
            try coder.serialize(ASN1ObjectIdentifier.NamedCurves.secp256r1, explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific)
            try coder.serialize(
                ASN1BitString(bytes: ArraySlice(privateKey.publicKey.x963Representation)),
                explicitlyTaggedWithTagNumber: 1, tagClass: .contextSpecific)
        }
    }

    /// `-----BEGIN EC PRIVATE KEY-----` text.
    func pemString() throws -> String {
        var serializer = DER.Serializer()
        try serializer.serialize(self)
        return PEMDocument(type: "EC PRIVATE KEY", derBytes: serializer.serializedBytes).pemString
    }
}
