import Foundation
import Synchronization

/// Every secret this process has loaded (API tokens, passphrases, the bundle's tokens), so that
/// no text it shows or logs can carry one: a server's error message that echoes the token it was
/// sent, a URL with a password, a command line. The CLI passes everything it prints through
/// ``scrub(_:)``; code that loads a secret calls ``register(_:)`` as it loads it.
public final class SecretScrubber: Sendable {
    /// The process's scrubber: one run, one set of secrets.
    public static let shared = SecretScrubber()

    /// Shorter values are not scrubbed: replacing every "abc" in the output would garble it, and
    /// a secret that short protects nothing anyway.
    public static let minimumLength = 6

    private let secrets = Mutex<Set<String>>([])

    public init() {}

    public func register(_ secret: String) {
        guard secret.count >= Self.minimumLength else { return }
        secrets.withLock { _ = $0.insert(secret) }
    }

    public func register(_ many: [String]) {
        for secret in many { register(secret) }
    }

    /// `text` with every known secret replaced by `<redacted>`, longest first so a secret that
    /// contains another is replaced whole.
    public func scrub(_ text: String) -> String {
        let known = secrets.withLock { $0 }
        guard !known.isEmpty else { return text }
        var result = text
        for secret in known.sorted(by: { $0.count > $1.count }) where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: "<redacted>")
        }
        return result
    }
}
