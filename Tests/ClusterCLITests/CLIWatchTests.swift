import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing
#if canImport(Glibc)
    import Glibc
#endif

/// `clusterctl watch` through the real binary on the simulator, and its metrics endpoint.
@Suite(.serialized) struct CLIWatchTests {
    /// A TCP port nobody listens on right now.
    static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return UInt16(bigEndian: address.sin_port)
    }

    /// `GET path` over a plain socket; nil while nothing listens.
    static func get(port: UInt16, path: String) -> String? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard connected == 0 else { return nil }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var response = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            response.append(contentsOf: buffer.prefix(count))
        }
        return String(decoding: response, as: UTF8.self)
    }

    @Test func aLostIngressHolderIsDetectedAndTheIPMoves() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        #expect(try cli.run("up", "home", "--simulate").status == 0)
        try CLIFailoverTests.lose("home-cp-1", in: cli)
        let port = try Self.freePort()
        // Ten simulated seconds per real second, so the endpoint can be scraped while it runs.
        let running = try cli.start(["watch", "home", "--simulate", "--for", "60s", "--sim-speed", "10", "--metrics-port", String(port)])
        var scraped: String?
        for _ in 0..<100 where scraped?.contains("clusterctl_watch_detections_total{cluster=\"home\"} 1") != true {
            Thread.sleep(forTimeInterval: 0.1)
            scraped = Self.get(port: port, path: "/metrics") ?? scraped
        }
        let missing = Self.get(port: port, path: "/other")
        let watch = running.wait()
        #expect(watch.status == 0, "\(watch.stderr)")
        #expect(watch.stdout.contains("home-cp-1 lost"), "\(watch.stdout)")
        #expect(watch.stdout.contains("ingress-ip completed"), "\(watch.stdout)")
        let metrics = try #require(scraped)
        #expect(metrics.hasPrefix("HTTP/1.1 200 OK"), "\(metrics)")
        #expect(metrics.contains("text/plain; version=0.0.4"))
        #expect(metrics.contains("clusterctl_watch_detections_total{cluster=\"home\"} 1"), "\(metrics)")
        #expect(missing?.hasPrefix("HTTP/1.1 404") == true, "\(missing ?? "")")
        let usage = try cli.run("watch", "home", "--simulate")
        #expect(usage.status == 2 && usage.stderr.contains("--simulate needs --for"), "\(usage.stderr)")
    }
}

extension CLIWatchTests {
    @Test func installWritesARestartingUnitWithoutSecrets() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let units = cli.workDirectory.appendingPathComponent("units")
        let install = try cli.run(["watch", "home", "--install", "--unit-dir", units.path], environment: ["HCLOUD_TOKEN": "secret-token-value"])
        #expect(install.status == 0, "\(install.stderr)")
        let unit = try String(contentsOf: units.appendingPathComponent("clusterctl-watch-home.service"), encoding: .utf8)
        #expect(unit.contains("Restart=on-failure"))
        #expect(unit.contains("EnvironmentFile=-/etc/clusterctl/home.env"))
        #expect(unit.contains(" watch \"\(cli.workDirectory.path)/clusters/home.yaml\"") || unit.contains("clusters/home.yaml\" --metrics-address 127.0.0.1 --metrics-port 9464"), "\(unit)")
        #expect(!unit.contains("secret-token-value"))
        #expect(install.stderr.contains("systemctl enable --now clusterctl-watch-home.service"))
        let attributes = try FileManager.default.attributesOfItem(atPath: units.appendingPathComponent("clusterctl-watch-home.service").path)
        #expect((attributes[.posixPermissions] as? Int) == 0o644)
    }
}

extension CLIWatchTests {
    @Test func theEndOfTheWatchStopsARunningReplacementSaysWhereAndExitsOne() throws {
        let cli = try CLIHarness()
        defer { cli.cleanUp() }
        let spec = try String(contentsOf: cli.workDirectory.appendingPathComponent("clusters/home.yaml"), encoding: .utf8)
        try cli.write("clusters/home.yaml", spec.replacingOccurrences(of: "nodeLostAfter: 10m", with: "nodeLostAfter: 20s"))
        #expect(try cli.run("up", "home", "--simulate").status == 0)
        try CLIFailoverTests.lose("home-cp-home-1", in: cli)
        // A control plane's replacement takes minutes; the watch ends after 90 simulated seconds.
        let watch = try cli.run("watch", "home", "--simulate", "--for", "90s", "--metrics-port", "0")
        #expect(watch.status == 1, "\(watch.stderr)\n\(watch.stdout)")
        #expect(watch.stdout.contains("home: home-cp-home-1 lost"), "\(watch.stdout)")
        #expect(watch.stdout.contains("home: controlplane-lost home-cp-home-1 stopped at "), "\(watch.stdout)")
        #expect(watch.stdout.contains("run `clusterctl failover home controlplane-lost home-cp-home-1` to finish the job"), "\(watch.stdout)")
        // The command it names finishes the job.
        let finish = try cli.run("failover", "home", "controlplane-lost", "home-cp-home-1", "--simulate")
        #expect(finish.status == 0, "\(finish.stderr)\n\(finish.stdout)")
        #expect(finish.stdout.contains("controlplane-lost home-cp-home-1 completed"), "\(finish.stdout)")
    }
}
