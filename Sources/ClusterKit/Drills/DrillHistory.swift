public import Foundation

/// The cluster's drill history: one JSON and one Markdown report per run in
/// `$CLUSTERCTL_HOME/<cluster>/drills/`, the newest ``limit`` kept (Chaos Mesh's `historyLimit`
/// does the same for its scheduled experiments).
public struct DrillHistory: Sendable {
    public static let defaultLimit = 50

    public let directory: URL
    public let limit: Int

    public init(directory: URL, limit: Int = DrillHistory.defaultLimit) {
        self.directory = directory
        self.limit = limit
    }

    /// `<cluster state directory>/drills`.
    public init(clusterDirectory: URL, limit: Int = DrillHistory.defaultLimit) {
        self.init(directory: clusterDirectory.appendingPathComponent("drills", isDirectory: true), limit: limit)
    }

    /// Writes the report (JSON, then Markdown, each atomically) and drops the oldest runs beyond
    /// the limit. Returns the JSON file.
    @discardableResult
    public func record(_ report: DrillReport) throws(ClusterError) -> URL {
        let json: Data
        do { json = try DrillReport.encoder().encode(report) } catch {
            throw ClusterError(.io, "cannot encode the drill report", cause: error)
        }
        // Two runs of one scenario started in the same second keep both reports.
        var name = report.id
        var copy = 1
        while SecureFile.exists(directory.appendingPathComponent("\(name).json")) {
            copy += 1
            name = "\(report.id)-\(copy)"
        }
        let file = directory.appendingPathComponent("\(name).json")
        try SecureFile.write(String(decoding: json, as: UTF8.self) + "\n", to: file)
        try SecureFile.write(report.markdown, to: directory.appendingPathComponent("\(name).md"))
        try prune()
        return file
    }

    /// Every report, oldest first. A file that does not read as a report is named in the error.
    public func load() throws(ClusterError) -> [DrillReport] {
        var reports: [DrillReport] = []
        for file in reportFiles() {
            do {
                reports.append(try DrillReport.decoder().decode(DrillReport.self, from: Data(contentsOf: file)))
            } catch {
                throw ClusterError(
                    .io, "the drill report \(file.path) cannot be read: \(error.localizedDescription)",
                    hint: "move the file (and its .md) out of \(directory.path) to skip it")
            }
        }
        return reports.sorted { ($0.startedAt, $0.id) < ($1.startedAt, $1.id) }
    }

    /// The newest report of each scenario.
    public func latest() throws(ClusterError) -> [String: DrillReport] {
        var latest: [String: DrillReport] = [:]
        for report in try load() { latest[report.scenario] = report }
        return latest
    }

    private func reportFiles() -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        // Names start with the UTC start time, so they sort by age.
        return names.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted().map { directory.appendingPathComponent($0) }
    }

    private func prune() throws(ClusterError) {
        let files = reportFiles()
        guard files.count > limit else { return }
        for file in files.prefix(files.count - limit) {
            for drop in [file, file.deletingPathExtension().appendingPathExtension("md")] where SecureFile.exists(drop) {
                do { try FileManager.default.removeItem(at: drop) } catch {
                    throw ClusterError(.io, "cannot remove the old drill report \(drop.path)", cause: error)
                }
            }
        }
    }
}
