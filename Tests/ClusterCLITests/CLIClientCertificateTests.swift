import ClusterTestSupport
import Foundation
import Testing

/// Client certificates follow the wall clock, backdated 10 s, even under `--simulate`, whose
/// virtual clock has nothing to do with the clocks of real clients.
@Suite struct CLIClientCertificateTests {
    static func notBefore(ofBase64PEM encoded: String, in directory: URL) throws -> Date {
        let pem = try #require(Data(base64Encoded: encoded))
        let file = directory.appendingPathComponent("client-\(UUID().uuidString).crt")
        try pem.write(to: file)
        let result = try TalosTestSupport.run("openssl", ["x509", "-in", file.path, "-noout", "-startdate"])
        #expect(result.status == 0, "\(result.error)")
        let text = result.output.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "notBefore=", with: "")
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "MMM d HH:mm:ss yyyy 'GMT'"
        return try #require(formatter.date(from: text.replacingOccurrences(of: "  ", with: " ")), "\(text)")
    }

    @Test func genConfigUnderSimulateSignsWithTheWallClockBackdated() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        #expect(try cli.run("up", "home", "--simulate").status == 0)
        let before = Date()
        let gen = try cli.run("gen", "config", "home", "--simulate", "--out", "out")
        let after = Date()
        #expect(gen.status == 0, "\(gen.stderr)")
        let kubeconfig = try cli.read("out/kubeconfig")
        let talosconfig = try cli.read("out/talosconfig")
        let kubeCert = try #require(kubeconfig.firstMatch(of: /client-certificate-data: (\S+)/)?.1)
        let talosCert = try #require(talosconfig.firstMatch(of: /crt: (\S+)/)?.1)
        for encoded in [kubeCert, talosCert] {
            let start = try Self.notBefore(ofBase64PEM: String(encoded), in: cli.workDirectory)
            // Whole seconds in the certificate: allow one second of rounding either way.
            #expect(start >= before.addingTimeInterval(-11) && start <= after.addingTimeInterval(-9), "notBefore \(start), run \(before)–\(after)")
        }
    }
}
