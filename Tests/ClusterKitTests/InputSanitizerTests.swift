import ClusterKit
import Testing

@Suite("Spec: showing hostile text safely")
struct InputSanitizerTests {
    @Test("control, bidi and zero-width characters are escaped; ordinary text is kept")
    func escaping() {
        #expect(InputSanitizer.escaped("home-lab") == "home-lab")
        #expect(InputSanitizer.escaped("grüße 🚀") == "grüße 🚀")
        #expect(InputSanitizer.escaped("a\nb\tc\r\u{1B}[2J") == "a\\nb\\tc\\r\\e[2J")
        #expect(InputSanitizer.escaped("x\u{202E}y\u{200B}z\u{7F}\u{85}") == "x\\u{202E}y\\u{200B}z\\u{7F}\\u{85}")
    }

    @Test("long words are cut with a count, whole messages are bounded")
    func cutting() {
        let long = String(repeating: "x", count: 10_000)
        let shown = InputSanitizer.message("name \"\(long)\" is bad")
        #expect(shown.hasPrefix("name \"xxx") && shown.hasSuffix("more characters) is bad"))
        #expect(shown.count < 200)
        let many = Array(repeating: "word", count: 5000).joined(separator: " ")
        #expect(InputSanitizer.message(many).count <= InputSanitizer.maxMessageLength + 40)
    }

    @Test("credentials in URLs are masked, whatever the URL's shape", arguments: [
        ("https://me:tok@github.com/a/b.git", "https://***@github.com/a/b.git"),
        ("ssh://git@host/a.git", "ssh://***@host/a.git"),
        ("https://host/a.git?token=abc", "https://host/a.git?***"),
        ("me:tok@github.com:a/b.git", "***@github.com:a/b.git"),
        ("https://host/path@with-at", "https://host/path@with-at"),
        ("https://host/a.git", "https://host/a.git"),
    ])
    func masking(_ input: String, _ expected: String) {
        #expect(InputSanitizer.maskingCredentials(input) == expected)
    }
}
