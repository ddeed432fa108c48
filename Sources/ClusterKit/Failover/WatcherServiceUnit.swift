import Foundation

/// The systemd service unit `clusterctl watch --install` writes, for a home server that runs
/// the watcher outside the cluster it watches.
///
/// `Restart=on-failure` brings the watcher back after a crash; `RestartSec` keeps a crash loop
/// from hammering the providers' APIs. Provider tokens never go into the unit: they come from an
/// `EnvironmentFile` the operator keeps at mode 0600 (systemd.exec(5): the file is read by the
/// service manager, and the `-` prefix lets the unit start without it).
public struct WatcherServiceUnit: Sendable, Hashable {
    public var cluster: String
    /// Absolute path of the clusterctl binary.
    public var executable: String
    /// Absolute path of the cluster's spec.
    public var specPath: String
    /// The directory the watcher runs in (where `clusters/` and `images/` are).
    public var workingDirectory: String
    /// `CLUSTERCTL_HOME`, when set.
    public var home: String?
    public var metricsAddress: String
    public var metricsPort: UInt16

    public init(cluster: String, executable: String, specPath: String, workingDirectory: String, home: String?, metricsAddress: String, metricsPort: UInt16) {
        self.cluster = cluster
        self.executable = executable
        self.specPath = specPath
        self.workingDirectory = workingDirectory
        self.home = home
        self.metricsAddress = metricsAddress
        self.metricsPort = metricsPort
    }

    /// `clusterctl-watch-<cluster>.service`.
    public var fileName: String { "clusterctl-watch-\(cluster).service" }

    /// Where the operator keeps the provider tokens for this cluster's watcher.
    public var environmentFile: String { "/etc/clusterctl/\(cluster).env" }

    /// The unit's text. Paths are quoted as systemd's command-line syntax wants (systemd.service(5)).
    public var text: String {
        func quoted(_ value: String) -> String {
            "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "%", with: "%%") + "\""
        }
        var lines = [
            "# Written by `clusterctl watch \(cluster) --install`. Provider tokens (HCLOUD_TOKEN, ...) go in",
            "# \(environmentFile), mode 0600; never in this file.",
            "[Unit]",
            "Description=clusterctl failover watcher for cluster \(cluster)",
            "Wants=network-online.target",
            "After=network-online.target",
            "",
            "[Service]",
            "Type=simple",
            "ExecStart=\(quoted(executable)) watch \(quoted(specPath)) --metrics-address \(metricsAddress) --metrics-port \(metricsPort)",
            "WorkingDirectory=\(quoted(workingDirectory))",
            "EnvironmentFile=-\(environmentFile)",
        ]
        if let home { lines.append("Environment=\(quoted("CLUSTERCTL_HOME=\(home)"))") }
        lines += [
            "Restart=on-failure",
            "RestartSec=10s",
            "",
            "[Install]",
            "WantedBy=multi-user.target",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}
