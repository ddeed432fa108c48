public import Foundation

/// Where a cluster's secrets bundle lives, and the only code that writes it.
///
/// The bundle is `<base>/secrets.yaml` in the layout of `talosctl gen secrets`. The CLI passes
/// `$CLUSTERCTL_HOME/<cluster>/`, defaulting to `~/.config/clusterctl/<cluster>/` (see
/// ``defaultDirectory(cluster:environment:)``). The file is mode 0600 in a 0700 directory, written
/// atomically; nothing here prints or logs its contents. Losing it loses the cluster, so an
/// existing bundle is only replaced when the caller passes `force: true`.
public struct SecretsStore: Sendable {
    /// The cluster's directory.
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    /// `$CLUSTERCTL_HOME/<cluster>/`, or `~/.config/clusterctl/<cluster>/` when it is unset.
    public static func defaultDirectory(cluster: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let home = environment["CLUSTERCTL_HOME"], !home.isEmpty {
            return URL(fileURLWithPath: home, isDirectory: true).appendingPathComponent(cluster, isDirectory: true)
        }
        let userHome = environment["HOME"].map { URL(fileURLWithPath: $0, isDirectory: true) }
            ?? FileManager.default.homeDirectoryForCurrentUser
        return userHome.appendingPathComponent(".config/clusterctl", isDirectory: true)
            .appendingPathComponent(cluster, isDirectory: true)
    }

    /// The bundle file.
    public var bundleURL: URL { directory.appendingPathComponent("secrets.yaml") }

    public var exists: Bool { SecureFile.exists(bundleURL) }

    /// Reads the bundle; `notFound` when there is none yet.
    public func load() throws(ClusterError) -> SecretsBundle {
        guard exists else {
            throw ClusterError(.notFound, "no secrets bundle at \(bundleURL.path)",
                hint: "run `clusterctl gen config` or `clusterctl secrets import` to create one")
        }
        let bundle = try SecretsBundle(talosYAML: try SecureFile.readPrivate(bundleURL, what: "the secrets bundle"))
        SecretScrubber.shared.register(
            [bundle.clusterSecret, bundle.bootstrapToken, bundle.trustdToken, bundle.secretboxEncryptionSecret, bundle.aescbcEncryptionSecret].compactMap { $0 })
        return bundle
    }

    /// Stores `bundle`, refusing to replace an existing one unless `force` is set.
    public func save(_ bundle: SecretsBundle, force: Bool = false) throws(ClusterError) {
        let refusal = ClusterError(.refused, "a secrets bundle already exists at \(bundleURL.path); it was not replaced",
            hint: "replacing it makes the running cluster unreachable; pass --force only when that is intended")
        if exists && !force { throw refusal }
        try SecureFile.ensureDirectory(directory)
        do {
            if force {
                try SecureFile.write(bundle.talosYAML(), to: bundleURL)
            } else {
                try SecureFile.createExclusively(bundle.talosYAML(), at: bundleURL)
            }
        } catch where error.code == .refused {
            throw refusal
        }
    }

    /// Refuses to go on when the bundle is missing but the cluster's machines exist: a new bundle
    /// would give the running cluster a new CA and cluster id, so new nodes could never join it and
    /// the client configs would be locked out. Only a cluster with no machine may get a new bundle.
    ///
    /// An existing bundle is read here, so one that cannot be used (unreadable, corrupt, readable
    /// by others) stops the command before its first change rather than in the middle.
    public func requireBundle(cluster: String, machines: [ObservedMachine]) throws(ClusterError) {
        if exists {
            do {
                _ = try load()
            } catch {
                throw ClusterError(
                    .secrets, "the secrets bundle of cluster \(cluster) cannot be used, so nothing was changed: \(error.message)",
                    hint: error.hint ?? "restore it with `clusterctl secrets import \(cluster) <file> --force` from a backup (`clusterctl secrets export`)")
            }
            return
        }
        guard !machines.isEmpty else { return }
        let names = machines.map(\.identity.node).sorted()
        let shown = names.prefix(5).joined(separator: ", ") + (names.count > 5 ? " and \(names.count - 5) more" : "")
        throw ClusterError(
            .secrets,
            "cluster \(cluster) has machines (\(shown)) but its secrets bundle \(bundleURL.path) is missing; "
                + "a new one would give the cluster a new CA and identity, so nothing was changed",
            hint: "restore the bundle with `clusterctl secrets import \(cluster) <file>` (a backup made by `clusterctl secrets export`, "
                + "or `talosctl gen secrets --from-controlplane-config <a control plane's config>`), then run the command again")
    }

    /// Creates the bundle, when there is none, before a run creates the cluster's first machine.
    ///
    /// A cluster's identity is born with its first machine, not with its first rendered config: a
    /// provider whose machines boot into maintenance mode (Proxmox, libvirt) gets configs only in
    /// a later stage, and without a bundle by then ``requireBundle(cluster:machines:)`` would
    /// refuse every later run of a cluster that `up --until machines` started.
    public func prepare(for plan: Plan, until stage: Stage?, talosVersion: SemanticVersion) throws(ClusterError) {
        let createsMachines = plan.creates + plan.replaces > 0 && (stage.map { $0 >= .machines } ?? true)
        guard createsMachines, !exists else { return }
        _ = try loadOrCreate(talosVersion: talosVersion)
    }

    /// Returns the stored bundle, or generates, stores and returns a new one when none exists.
    /// When another process creates the bundle at the same moment, its bundle is returned.
    public func loadOrCreate(talosVersion: SemanticVersion, now: Date = Date()) throws(ClusterError) -> SecretsBundle {
        if exists { return try load() }
        let bundle = try SecretsBundle.generate(talosVersion: talosVersion, now: now)
        do {
            try save(bundle)
        } catch where error.code == .refused {
            return try load()
        }
        return bundle
    }

    /// Adopts a bundle written by `talosctl gen secrets`.
    @discardableResult
    public func importBundle(from file: URL, force: Bool = false) throws(ClusterError) -> SecretsBundle {
        // A loose source is still adopted (the stored copy is 0600); the CLI warns about it.
        let bundle = try SecretsBundle(talosYAML: try SecureFile.read(file))
        try save(bundle, force: force)
        return bundle
    }

    /// Writes the stored bundle to `file` (0600, atomic) in the `talosctl gen secrets` layout.
    public func exportBundle(to file: URL, force: Bool = false) throws(ClusterError) {
        if SecureFile.exists(file) && !force {
            throw ClusterError(.refused, "\(file.path) already exists; not overwritten", hint: "choose another path or pass --force")
        }
        try SecureFile.write(try load().talosYAML(), to: file)
    }
}
