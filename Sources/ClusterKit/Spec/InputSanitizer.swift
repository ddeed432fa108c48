internal import Foundation

/// Makes text that came from a spec safe to show: control characters escaped, long values cut,
/// credentials in URLs masked. Every spec diagnostic passes through here (``YAMLWalker``), so a
/// hostile spec can neither drive the terminal (escape sequences, carriage returns, bidi
/// overrides) nor flood it (a megabyte-long name echoed in every message).
public enum InputSanitizer {
    /// The longest run of non-space characters shown from a value; longer runs are cut.
    public static let maxWordLength = 96
    /// The longest message or hint shown.
    public static let maxMessageLength = 1200

    /// Characters never shown raw: C0 and C1 controls, DEL, and the Unicode format characters
    /// that reorder or hide text (bidi embeddings, overrides and isolates; line and paragraph
    /// separators; zero-width characters and the byte-order mark).
    public static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: true
        case 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x2069, 0xFEFF: true
        default: false
        }
    }

    /// Whether `text` holds any character ``isUnsafe(_:)`` refuses.
    public static func hasUnsafeCharacters(_ text: String) -> Bool {
        text.unicodeScalars.contains(where: isUnsafe)
    }

    /// `text` with unsafe characters written as escapes: `\n`, `\t`, `\r`, `\e`, `\u{202E}`.
    public static func escaped(_ text: String) -> String {
        guard hasUnsafeCharacters(text) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            guard isUnsafe(scalar) else {
                result.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            case "\u{1B}": result += "\\e"
            default: result += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            }
        }
        return result
    }

    /// A message or hint as shown: escaped, every overlong word cut to ``maxWordLength``
    /// characters with the count of what was left out, and the whole cut to ``maxMessageLength``.
    public static func message(_ text: String) -> String {
        let safe = escaped(text)
        var result = ""
        var word = ""
        var wordLength = 0
        var dropped = 0
        func flush() {
            if dropped > 0 { result += word + "…(\(dropped) more characters)" } else { result += word }
            word = ""
            wordLength = 0
            dropped = 0
        }
        for character in safe {
            if character == " " {
                flush()
                result.append(character)
                continue
            }
            if wordLength < maxWordLength {
                word.append(character)
                wordLength += 1
            } else {
                dropped += 1
            }
        }
        flush()
        if result.count > maxMessageLength {
            let kept = result.prefix(maxMessageLength)
            return kept + "…(\(result.count - maxMessageLength) more characters)"
        }
        return result
    }

    /// A URL with any user name and password replaced by `***`, for messages about it. Works on
    /// text that is not a valid URL too, so a malformed URL is masked as well.
    public static func maskingCredentials(_ url: String) -> String {
        // A query can carry a token too (`?access_token=`); it is masked whole.
        let base = url.firstIndex(of: "?").map { url[..<$0] + "?***" } ?? url
        guard let schemeEnd = base.range(of: "://") else {
            // scp-like Git addresses (`user:token@host:repo`) have no scheme.
            guard let at = base.firstIndex(of: "@") else { return base }
            return "***" + base[at...]
        }
        let rest = base[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@") else { return base }
        return base[..<schemeEnd.upperBound] + "***" + base[at...]
    }

    /// The user information in a URL (`user`, `user:password`), nil when there is none.
    public static func userInfo(ofURL url: String) -> String? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@") else { return nil }
        return String(authority[..<at])
    }
}
