import ClusterKit
import ClusterTestSupport
import Foundation
import Provisioners
import Testing

extension SimulatedRun {
    /// `up` with `--force` (or without), as the CLI passes it.
    func up(forceGitOps: Bool) throws -> ExecutionReport {
        let spec = spec, backend = backend
        return try SimulationRunLoop(clock: world.clock).run {
            let observed = try await ObservedCluster.observe(spec: spec, backend: backend)
            let plan = Planner.plan(spec: spec, observed: observed)
            return try await ClusterExecutor(spec: spec, backend: backend, options: .init(forceGitOps: forceGitOps)).apply(plan, observed: observed)
        }
    }

    func gitOpsStatus() throws -> GitOpsStatus? {
        let backend = backend
        return try SimulationRunLoop(clock: world.clock).run { try await backend.gitops.status() }
    }
}

/// Flux in the simulator follows the real installer: Ready at a revision, and re-pointing only with `--force`.
@Suite struct FluxSimulatedTests {
    @Test func upEndsWithFluxReadyAtARevision() throws {
        let run = SimulatedRun(spec: try Fixtures.hybridSpec())
        run.expectConverged(try run.up())
        let status = try #require(try run.gitOpsStatus())
        let gitops = try #require(run.spec.gitops)
        #expect(status.ready && status.matches(gitops))
        let revision = try #require(status.revision)
        #expect(revision.hasPrefix("\(gitops.branch)@sha1:") && revision.count == gitops.branch.count + 6 + 40)
        #expect(status.summary == "ready at \(gitops.branch)@sha1:\(revision.suffix(40).prefix(8)) (\(gitops.path))")
    }

    @Test func rePointingIsRefusedWithoutForceAndDoneWithIt() throws {
        let run = SimulatedRun(spec: try Fixtures.hybridSpec())
        run.expectConverged(try run.up())
        var moved = run.spec
        moved.gitops?.path = "clusters/elsewhere"

        let refused = run.restarted(spec: moved)
        let report = try refused.up(forceGitOps: false)
        #expect(!report.succeeded)
        #expect(report.failures["flux"]?.contains("--force") == true, "\(report.failures)")
        #expect(try refused.gitOpsStatus()?.path == run.spec.gitops?.path)

        let forced = refused.restarted(spec: moved)
        let done = try forced.up(forceGitOps: true)
        #expect(done.succeeded && done.gitopsInstalled, "\(done.failures)")
        #expect(try forced.gitOpsStatus()?.path == "clusters/elsewhere")
    }
}
