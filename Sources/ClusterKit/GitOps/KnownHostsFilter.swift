import Crypto
import Foundation

/// The lines of a known_hosts file that apply to one host, so the cluster's `flux-system` Secret
/// carries the Git host's keys and not the rest of a user's known_hosts (flux itself stores the
/// one line it scanned, ../shared/reference/flux/bootstrap-layout/README.md).
///
/// Host patterns follow sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT": comma-separated names,
/// `[host]:port` for a port other than 22, hashed names `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`,
/// an optional `@cert-authority`/`@revoked` marker first, `*`/`?` wildcards, and `!` negations
/// that exclude a line whatever else matches.
public enum KnownHostsFilter {
    /// The lines of `text` naming `host` at `port`.
    public static func lines(for host: String, port: Int, in text: String) -> [String] {
        let name = port == 22 ? host : "[\(host)]:\(port)"
        return text.split(whereSeparator: \.isNewline).map(String.init).filter { line in
            var fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = fields.first, !first.hasPrefix("#") else { return false }
            if first.hasPrefix("@") { fields.removeFirst() }
            guard fields.count >= 3 else { return false }
            let patterns = fields[0].split(separator: ",").map(String.init)
            let negated = patterns.filter { $0.hasPrefix("!") }.map { String($0.dropFirst()) }
            if negated.contains(where: { matches($0, name) }) { return false }
            return patterns.filter { !$0.hasPrefix("!") }.contains { matches($0, name) }
        }
    }

    private static func matches(_ pattern: String, _ name: String) -> Bool {
        if pattern.hasPrefix("|1|") {
            let parts = pattern.dropFirst(3).split(separator: "|")
            guard parts.count == 2, let salt = Data(base64Encoded: String(parts[0])), let hash = Data(base64Encoded: String(parts[1])) else {
                return false
            }
            let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Data(name.utf8), using: SymmetricKey(data: salt))
            return Data(mac) == hash
        }
        // Host names compare case-insensitively; only `*` and `?` are special (ssh's match_pattern),
        // so `[host]:port` is literal.
        return glob(Array(pattern.lowercased().unicodeScalars)[...], Array(name.lowercased().unicodeScalars)[...])
    }

    private static func glob(_ pattern: ArraySlice<Unicode.Scalar>, _ text: ArraySlice<Unicode.Scalar>) -> Bool {
        guard let head = pattern.first else { return text.isEmpty }
        switch head {
        case "*":
            return (text.startIndex...text.endIndex).contains { glob(pattern.dropFirst(), text[$0...]) }
        case "?":
            return !text.isEmpty && glob(pattern.dropFirst(), text.dropFirst())
        default:
            return text.first == head && glob(pattern.dropFirst(), text.dropFirst())
        }
    }
}
