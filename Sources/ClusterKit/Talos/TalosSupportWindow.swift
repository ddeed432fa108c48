/// Which Kubernetes releases each Talos release runs, for the Talos releases whose config
/// contracts this build writes: the one table `validate` and the renderer consult.
///
/// Talos refuses a Kubernetes version outside its window when it generates or applies a config
/// (siderolabs/talos `pkg/machinery/compatibility/talosNNN/talosNNN.go`,
/// `MinimumKubernetesVersion`/`MaximumKubernetesVersion`; the Talos docs' "Support Matrix").
/// A Talos minor release missing here is one whose config contract this build does not know.
public enum TalosSupportWindow {
    /// One Talos minor release and the Kubernetes minor releases it supports.
    public struct Row: Sendable {
        /// Talos `major.minor`.
        public var talos: (major: Int, minor: Int)
        public var oldestKubernetes: (major: Int, minor: Int)
        public var newestKubernetes: (major: Int, minor: Int)

        /// `1.31–1.36`.
        public var kubernetesRange: String {
            "\(oldestKubernetes.major).\(oldestKubernetes.minor)–\(newestKubernetes.major).\(newestKubernetes.minor)"
        }

        public func supports(kubernetes version: SemanticVersion) -> Bool {
            let minor = (version.major, version.minor)
            return minor >= (oldestKubernetes.major, oldestKubernetes.minor) && minor <= (newestKubernetes.major, newestKubernetes.minor)
        }
    }

    /// Oldest first.
    /// - 1.12: Kubernetes 1.30–1.35 (Talos docs v1.12 "Support Matrix"; `talos112.go`).
    /// - 1.13: Kubernetes 1.31–1.36 (Talos docs v1.13 "Support Matrix"; `talos113.go`).
    /// - 1.14: Kubernetes 1.32–1.37 (`talos114.go`: minimum 1.32.0, maximum 1.37.99).
    public static let rows: [Row] = [
        Row(talos: (1, 12), oldestKubernetes: (1, 30), newestKubernetes: (1, 35)),
        Row(talos: (1, 13), oldestKubernetes: (1, 31), newestKubernetes: (1, 36)),
        Row(talos: (1, 14), oldestKubernetes: (1, 32), newestKubernetes: (1, 37)),
    ]

    /// The row of a Talos release, nil when this build does not know its contract.
    public static func row(for talos: SemanticVersion) -> Row? {
        rows.first { $0.talos.major == talos.major && $0.talos.minor == talos.minor }
    }

    /// The newest Talos minor release this build writes configs for.
    public static var newestTalos: (major: Int, minor: Int) { rows.last?.talos ?? (major: 1, minor: 14) }

    /// The oldest Talos release this build writes configs for.
    public static var oldestTalos: SemanticVersion {
        let first = rows.first?.talos ?? (major: 1, minor: 12)
        return SemanticVersion(major: first.major, minor: first.minor, patch: 0)
    }

    /// Why the pair cannot run, with what to do about it; nil when it can.
    public static func problem(talos: SemanticVersion, kubernetes: SemanticVersion) -> (message: String, hint: String, onTalos: Bool)? {
        guard let row = row(for: talos) else {
            let newest = newestTalos
            if (talos.major, talos.minor) > (newest.major, newest.minor) {
                return ("Talos \(talos) is newer than the config contracts this build knows (up to Talos \(newest.major).\(newest.minor))",
                    "use Talos \(newest.major).\(newest.minor).x, or a clusterctl release that knows Talos \(talos.major).\(talos.minor)", true)
            }
            return ("Talos \(talos) is older than \(oldestTalos), the oldest release clusterctl writes configs for",
                "set talos.version to \(oldestTalos) or later", true)
        }
        guard row.supports(kubernetes: kubernetes) else {
            let fitting = rows.filter { $0.supports(kubernetes: kubernetes) }.map { "\($0.talos.major).\($0.talos.minor)" }
            return ("Talos \(talos.major).\(talos.minor) supports Kubernetes \(row.kubernetesRange), not \(kubernetes)",
                "pick a Kubernetes version in \(row.kubernetesRange)"
                    + (fitting.isEmpty ? "" : ", or a Talos release that supports \(kubernetes.major).\(kubernetes.minor) (\(fitting.joined(separator: ", ")))"),
                false)
        }
        return nil
    }
}
