import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

@Suite("Hetzner Talos image pipeline")
struct HetznerImageBuilderTests {
    func builder(_ env: HetznerTestEnvironment, shell: HetznerRecordingShell) -> HetznerImageBuilder {
        HetznerImageBuilder(
            client: env.client, waiter: env.provisioner.waiter, location: "fsn1", sshPublicKey: "ssh-ed25519 AAAAC3Nza build@clusterctl",
            connect: { address in
                #expect(address.hasPrefix("203.0.113."))
                return shell
            }, time: env.clock)
    }

    @Test("the image URL is quoted inside the rescue script")
    func hostileFactoryURL() throws {
        let env = try HetznerTestEnvironment()
        let builder = HetznerImageBuilder(
            client: env.client, waiter: env.provisioner.waiter, location: "fsn1", sshPublicKey: "ssh-ed25519 AAAAC3Nza build@clusterctl",
            connect: { _ in HetznerRecordingShell() }, time: env.clock, factoryURL: "https://factory.example.net/$(reboot);x")
        let script = try #require(builder.commands(HetznerTestEnvironment.image).first?.arguments.last)
        let schematic = String(repeating: "ab12", count: 16)
        #expect(script.hasPrefix("curl -fsSL --retry 5 'https://factory.example.net/$(reboot);x/image/\(schematic)/v1.11.5/hcloud-amd64.raw.xz' | xz -d"), "\(script)")
    }

    @Test("builds the snapshot in rescue mode with the exact commands and requests, then cleans up")
    func build() async throws {
        let env = try HetznerTestEnvironment()
        let shell = HetznerRecordingShell()
        let image = try await builder(env, shell: shell).build(HetznerTestEnvironment.image)
        let schematic = String(repeating: "ab12", count: 16)
        #expect(shell.commands.map(\.shellLine) == [
            "bash -o pipefail -c 'curl -fsSL --retry 5 https://factory.talos.dev/image/\(schematic)/v1.11.5/hcloud-amd64.raw.xz | xz -d | dd of=/dev/sda bs=4M conv=fsync status=none'",
            "sync",
        ])
        #expect(env.model.snapshotCount == 1)
        #expect(env.model.sshKeyCount == 0, "the temporary SSH key is deleted")
        #expect(env.model.servers.isEmpty, "the temporary server is deleted")

        let lines = env.model.requests.map(\.line).filter { !$0.hasPrefix("GET /v1/actions") }
        let serverID = try #require(env.model.requests.first { $0.method == "POST" && $0.path == "/v1/servers" }.flatMap { record in
            (try? JSONSerialization.jsonObject(with: Data(record.response.utf8)) as? [String: Any]).flatMap { ($0["server"] as? [String: Any])?["id"] as? Int }
        })
        let keyID = try #require(env.model.requests.first { $0.path == "/v1/ssh_keys" }.flatMap { record in
            (try? JSONSerialization.jsonObject(with: Data(record.response.utf8)) as? [String: Any]).flatMap { ($0["ssh_key"] as? [String: Any])?["id"] as? Int }
        })
        #expect(lines == [
            "GET /v1/images?type=snapshot&label_selector=\(HetznerProvisionerTests.imageSelector)&page=1&per_page=50",
            "POST /v1/ssh_keys",
            "POST /v1/servers",
            "POST /v1/servers/\(serverID)/actions/enable_rescue",
            "POST /v1/servers/\(serverID)/actions/poweron",
            "POST /v1/servers/\(serverID)/actions/poweroff",
            "POST /v1/servers/\(serverID)/actions/create_image",
            "DELETE /v1/servers/\(serverID)",
            "DELETE /v1/ssh_keys/\(keyID)",
        ])
        let create = try #require(env.model.requests.first { $0.method == "POST" && $0.path == "/v1/servers" })
        #expect(create.body?.contains("\"image\":\"debian-12\"") == true)
        #expect(create.body?.contains("\"start_after_create\":false") == true)
        let snapshot = try #require(env.model.requests.first { $0.path.hasSuffix("/create_image") })
        #expect(snapshot.body?.contains("\"talos-version\":\"v1.11.5\"") == true)
        #expect(image.description.contains(schematic))

        // The provisioner now finds it: one request, no build.
        let before = env.model.requests.count
        let found = try await env.provisioner.ensureImage(HetznerTestEnvironment.image)
        #expect(found.id == image.id)
        #expect(env.model.requests.count == before + 1)
    }

    @Test("a failing write still deletes the temporary server and key")
    func failureCleansUp() async throws {
        let env = try HetznerTestEnvironment()
        let shell = HetznerRecordingShell(results: [
            RemoteCommandResult(exitStatus: 22, stdout: [], stderr: Array("curl: (22) The requested URL returned error: 404".utf8))
        ])
        let error = await #expect(throws: ClusterError.self) { try await builder(env, shell: shell).build(HetznerTestEnvironment.image) }
        #expect(error?.message.contains("exit 22") == true)
        #expect(error?.message.contains("404") == true)
        #expect(shell.commands.count == 1)
        #expect(env.model.servers.isEmpty)
        #expect(env.model.sshKeyCount == 0)
        #expect(env.model.snapshotCount == 0)
    }

    @Test("an existing snapshot with the same labels is reused without building")
    func reuse() async throws {
        let env = try HetznerTestEnvironment()
        env.addSnapshot()
        let shell = HetznerRecordingShell()
        _ = try await builder(env, shell: shell).build(HetznerTestEnvironment.image)
        #expect(shell.commands.isEmpty)
        #expect(env.model.requests.count == 1)
    }

    @Test("the provisioner without a builder names the command to run")
    func missingImage() async throws {
        let env = try HetznerTestEnvironment()
        let error = await #expect(throws: ClusterError.self) { try await env.provisioner.ensureImage(HetznerTestEnvironment.image) }
        #expect(error?.hint?.contains("clusterctl image build") == true)
    }

    @Test("bad schematic ids and versions are refused before any request")
    func validation() async throws {
        let env = try HetznerTestEnvironment()
        var request = HetznerTestEnvironment.image
        request.schematicID = "abc; rm -rf /"
        await #expect(throws: ClusterError.self) { try await builder(env, shell: HetznerRecordingShell()).build(request) }
        request = HetznerTestEnvironment.image
        request.talosVersion = "latest"
        await #expect(throws: ClusterError.self) { try await builder(env, shell: HetznerRecordingShell()).build(request) }
        #expect(env.model.requests.isEmpty)
    }
}

@Suite("Hetzner image pipeline: SSH reachability")
struct HetznerImageBuilderConnectTests {
    @Test("retries the SSH connection while the rescue system boots, on the injected clock")
    func connectRetries() async throws {
        let env = try HetznerTestEnvironment()
        let shell = HetznerRecordingShell()
        let attempts = Attempts()
        let builder = HetznerImageBuilder(
            client: env.client, waiter: env.provisioner.waiter, location: "fsn1", sshPublicKey: "ssh-ed25519 AAAA k",
            connect: { _ in
                if await attempts.next() < 3 { throw ClusterError(.io, "connection refused") }
                return shell
            }, time: env.clock)
        _ = try await builder.build(HetznerTestEnvironment.image)
        #expect(await attempts.count == 3)
        #expect(shell.commands.count == 2)
        #expect(env.clock.sleeps.contains(.seconds(2)) && env.clock.sleeps.contains(.seconds(4)))
    }

    actor Attempts {
        var count = 0
        func next() -> Int {
            count += 1
            return count
        }
    }
}

@Suite("Hetzner label selector in the model")
struct HetznerLabelSelectorTests {
    @Test(arguments: [
        ("cluster==home", true), ("cluster=home", true), ("cluster!=home", false), ("cluster", true), ("!cluster", false),
        ("!team", true), ("pool in (cp,workers)", true), ("pool notin (cp,workers)", false), ("pool in (x)", false),
        ("cluster==home,pool==cp,!team", true), ("cluster==home,pool==workers", false),
    ])
    func matches(_ selector: String, _ expected: Bool) throws {
        let parsed = try #require(HetznerLabelSelector(selector))
        #expect(parsed.matches(["cluster": "home", "pool": "cp"]) == expected)
    }

    @Test func rejectsEmptyTerms() {
        #expect(HetznerLabelSelector("a==b,,c") == nil)
        #expect(HetznerLabelSelector("k in x") == nil)
    }
}
