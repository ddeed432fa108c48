import ArgumentParser
import ClusterKit
import Foundation
import Provisioners

/// Exit codes, as the root command's help documents them.
enum ExitStatus {
    static let failed: Int32 = 1
    static let badInput: Int32 = 2
    static let refused: Int32 = 3
    static let simulatedCrash: Int32 = 137
}

/// Prints an error the way a person can act on it (what, where, what next) and picks the exit code.
/// Every command funnels its errors through here, so no stack trace or raw dump ever reaches the user.
enum CLIFailure {
    static func exit(for error: any Error) -> ExitCode {
        switch error {
        case let error as SpecError:
            for diagnostic in error.diagnostics { Terminal.error(diagnostic.description) }
            Terminal.error("\(error.errors.count) error\(error.errors.count == 1 ? "" : "s"); fix them, then run `clusterctl validate` again")
            return ExitCode(ExitStatus.badInput)
        case let error as ClusterError:
            Terminal.error("error: \(error.message)")
            if let hint = error.hint { Terminal.error("  hint: \(hint)") }
            switch error.code {
            case .invalidSpec: return ExitCode(ExitStatus.badInput)
            case .refused: return ExitCode(ExitStatus.refused)
            default: return ExitCode(ExitStatus.failed)
            }
        case let error as SimulatedCrash:
            Terminal.error("clusterctl: \(error) — the process died here; run the command again to converge")
            return ExitCode(ExitStatus.simulatedCrash)
        case let error as ProvisionerError:
            Terminal.error("error: \(error)")
            return ExitCode(ExitStatus.failed)
        case let error as Interrupted:
            Terminal.error(error.description)
            return ExitCode(Interruption.exitCode)
        case let error as ExitCode:
            return error
        default:
            Terminal.error("error: \(error)")
            return ExitCode(ExitStatus.failed)
        }
    }
}

/// Runs a command body, turning any error into a message and an exit code.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch {
        throw CLIFailure.exit(for: error)
    }
}
