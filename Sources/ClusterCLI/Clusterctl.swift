import ArgumentParser
import Foundation
import Provisioners

@main
struct Clusterctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clusterctl",
        abstract: "Run the whole lifecycle of Talos Kubernetes clusters on Hetzner, libvirt, Proxmox or the simulator.",
        discussion: """
            A cluster is described once, as data, in clusters/<name>.yaml. Commands take the \
            cluster's name (or a path to its spec) and read the rest from the providers.

            Try it without any cloud account:
              clusterctl up home --simulate
              clusterctl node add home --pool big --simulate
              clusterctl status home --simulate

            Exit codes:
              0  success
              1  the operation ran and failed (a node or step failed, the cluster is
                 unhealthy), a provider could not be read (its pools were left alone),
                 a node name is duplicated, or an --inject fault never fired
              2  bad input: usage error or invalid spec
              3  refused: confirmation missing, an existing thing would be overwritten, or
                 another run holds the cluster's lock
              130  interrupted (Ctrl-C, SIGTERM)
              137  the simulator injected a crash (--inject crash:...)
            """,
        subcommands: [
            Validate.self, PlanCommand.self, Up.self, Status.self, NodeCommand.self, Failover.self, Watch.self, DrillCommand.self,
            EtcdCommand.self, Down.self, GenCommand.self, SecretsCommand.self, ImageCommand.self,
        ]
    )

    /// Routes every log line through the secret scrubber before any command runs.
    /// A usage error exits 2 as documented (ArgumentParser's own code for it is 64).
    static func main() {
        ScrubbingLogHandler.bootstrap()
        do {
            var command = try parseAsRoot(nil)
            try command.run()
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(ExitStatus.badInput)
            }
            exit(withError: error)
        }
    }
}
