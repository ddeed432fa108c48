import ArgumentParser
import ClusterKit

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a cluster spec: strict decoding, references, CIDRs, versions, quorum layout.",
        discussion: """
            Every problem is reported with file, line, column and field path, and what would be right. \
            Warnings (an even number of control planes, a site holding a control-plane majority) do \
            not fail validation.

            Examples:
              clusterctl validate home
              clusterctl validate ./clusters/lab.yaml -o json
            """)

    @Argument(help: "The cluster: a name under clusters/ (home) or a path to a spec file.")
    var cluster: String

    @Option(name: .customLong("clusters-dir"), help: "Where cluster names are looked up.")
    var clustersDirectory = "clusters"

    @OptionGroup var output: OutputOptions

    func run() throws {
        let path = SpecLoader.resolve(cluster, clustersDirectory: clustersDirectory)
        try reportingErrors {
            let loaded: LoadedSpec
            do {
                loaded = try SpecLoader.load(path: path)
            } catch let error as SpecError where output.output != .table {
                Terminal.out(try Terminal.document(ValidationDocument(file: path, valid: false, diagnostics: error.diagnostics), format: output.output))
                throw ExitCode(ExitStatus.badInput)
            }
            switch output.output {
            case .json, .yaml:
                Terminal.out(try Terminal.document(ValidationDocument(file: path, valid: true, diagnostics: loaded.warnings), format: output.output))
            case .table:
                for warning in loaded.warnings { Terminal.error(warning.description) }
                let spec = loaded.spec
                let nodes = spec.pools.reduce(0) { $0 + $1.count }
                Terminal.out("\(path): valid — cluster \(spec.name), Talos \(spec.talos.version), Kubernetes \(spec.kubernetes.version), \(spec.pools.count) pools, \(nodes) nodes" + (loaded.warnings.isEmpty ? "" : ", \(loaded.warnings.count) warning\(loaded.warnings.count == 1 ? "" : "s")"))
            }
        }
    }
}

struct ValidationDocument: Encodable {
    struct Diagnostic: Encodable {
        var severity: String
        var file: String
        var line: Int
        var column: Int
        var path: String
        var message: String
        var hint: String?
    }

    var file: String
    var valid: Bool
    var diagnostics: [Diagnostic]

    init(file: String, valid: Bool, diagnostics: [SpecDiagnostic]) {
        self.file = file
        self.valid = valid
        self.diagnostics = diagnostics.map {
            Diagnostic(severity: $0.severity.rawValue, file: $0.file, line: $0.line, column: $0.column, path: $0.path, message: $0.message, hint: $0.hint)
        }
    }
}
