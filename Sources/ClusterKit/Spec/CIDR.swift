/// An IPv4 or IPv6 network in CIDR notation, e.g. `10.244.0.0/16`.
public struct CIDR: Sendable, Hashable, CustomStringConvertible {
    /// Network address bytes (4 for IPv4, 16 for IPv6), host bits cleared.
    public let address: [UInt8]
    public let prefixLength: Int

    public var isIPv6: Bool { address.count == 16 }

    /// Parses `a.b.c.d/n` or an IPv6 `x::y/n`. Fails when host bits are set, so a typo such as
    /// `10.244.1.0/15` is caught instead of silently meaning another network.
    public init(parsing text: String) throws(CIDRParseError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw .notCIDR }
        guard let bytes = IPAddress.parse(String(parts[0])) else { throw .badAddress }
        guard let length = Int(parts[1]), length >= 0, length <= bytes.count * 8 else { throw .badPrefix(max: bytes.count * 8) }
        let masked = CIDR.mask(bytes, prefixLength: length)
        guard masked == bytes else { throw .hostBitsSet(network: CIDR.format(masked) + "/\(length)") }
        self.address = bytes
        self.prefixLength = length
    }

    public var description: String { "\(CIDR.format(address))/\(prefixLength)" }

    public func overlaps(_ other: CIDR) -> Bool {
        guard address.count == other.address.count else { return false }
        let shorter = min(prefixLength, other.prefixLength)
        return CIDR.mask(address, prefixLength: shorter) == CIDR.mask(other.address, prefixLength: shorter)
    }

    public func contains(_ other: CIDR) -> Bool {
        other.prefixLength >= prefixLength && overlaps(other)
    }

    /// The n-th address inside the network (n = 1 is the first host on IPv4).
    public func address(at offset: Int) -> String {
        var bytes = address
        var carry = offset
        var index = bytes.count - 1
        while carry > 0 && index >= 0 {
            let sum = Int(bytes[index]) + carry
            bytes[index] = UInt8(sum & 0xFF)
            carry = sum >> 8
            index -= 1
        }
        return CIDR.format(bytes)
    }

    static func mask(_ bytes: [UInt8], prefixLength: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let bitsInByte = max(0, min(8, prefixLength - index * 8))
            return bitsInByte == 8 ? byte : byte & UInt8(truncatingIfNeeded: 0xFF << (8 - bitsInByte))
        }
    }

    static func format(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        var groups: [String] = []
        for index in stride(from: 0, to: 16, by: 2) {
            groups.append(String(UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]), radix: 16))
        }
        return groups.joined(separator: ":")
    }
}

public enum CIDRParseError: Error, Sendable, Hashable, CustomStringConvertible {
    case notCIDR
    case badAddress
    case badPrefix(max: Int)
    case hostBitsSet(network: String)

    public var description: String {
        switch self {
        case .notCIDR: "is not in CIDR notation (address/prefix, e.g. 10.244.0.0/16)"
        case .badAddress: "does not start with a valid IPv4 or IPv6 address"
        case .badPrefix(let max): "has a prefix length outside 0...\(max)"
        case .hostBitsSet(let network): "has host bits set; the network is \(network)"
        }
    }
}

/// IP address parsing shared by CIDR and endpoint checks.
public enum IPAddress {
    /// Parses an IPv4 dotted quad or an IPv6 address into 4 or 16 bytes.
    public static func parse(_ text: String) -> [UInt8]? {
        if text.contains(":") { return parseIPv6(text) }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), let value = UInt8(part) else { return nil }
            bytes.append(value)
        }
        return bytes
    }

    private static func parseIPv6(_ text: String) -> [UInt8]? {
        let halves = text.split(separator: "::", omittingEmptySubsequences: false).map(String.init)
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            for group in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard !group.isEmpty, group.count <= 4, let value = UInt16(group, radix: 16) else { return nil }
                result.append(value)
            }
            return result
        }
        guard let head = groups(halves[0]) else { return nil }
        var all = head
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count < 8 else { return nil }
            all += Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard all.count == 8 else { return nil }
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }
}
