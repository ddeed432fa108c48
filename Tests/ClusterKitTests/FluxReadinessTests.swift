import ClusterKit
import Testing

/// How the installer judges Flux's objects, as `flux bootstrap` does (`objectReconciled`).
@Suite struct FluxReadinessTests {
    static let revision = "main@sha1:0123456789abcdef0123456789abcdef01234567"

    static func kustomization(ready: String?, revision: String? = nil, generation: Int = 1, observed: Int = 1, suspend: Bool = false, message: String = "m") -> KubernetesObject {
        var status: [String: JSONValue] = ["observedGeneration": .number(Double(observed))]
        if let revision { status["lastAttemptedRevision"] = .string(revision) }
        if let ready {
            status["conditions"] = .array([.object(["type": "Ready", "status": .string(ready), "reason": "R", "message": .string(message)])])
        }
        return KubernetesObject(json: .object([
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": .object(["name": "flux-system", "namespace": "flux-system", "generation": .number(Double(generation))]),
            "spec": .object(["path": "./clusters/home", "suspend": .bool(suspend)]), "status": .object(status),
        ]))
    }

    @Test func readyAtTheRevisionIsReconciled() {
        #expect(FluxReadiness.check(Self.kustomization(ready: "True", revision: Self.revision), revision: Self.revision) == .reconciled)
    }

    @Test func readyAtAnotherRevisionOrAnOldGenerationWaits() {
        guard case .waiting = FluxReadiness.check(Self.kustomization(ready: "True", revision: "main@sha1:ffff"), revision: Self.revision) else {
            Issue.record("an older revision must be waited out")
            return
        }
        guard case .waiting = FluxReadiness.check(Self.kustomization(ready: "False", revision: Self.revision, generation: 2, observed: 1), revision: Self.revision) else {
            Issue.record("a status of an older generation says nothing yet")
            return
        }
        guard case .waiting = FluxReadiness.check(Self.kustomization(ready: nil), revision: Self.revision) else {
            Issue.record("no Ready condition yet must be waited out")
            return
        }
    }

    @Test func readyFalseFailsWithFluxsMessageAndSuspendedIsAnError() {
        #expect(
            FluxReadiness.check(Self.kustomization(ready: "False", message: "kustomization path not found"), revision: Self.revision)
                == .failed("Kustomization 'flux-system/flux-system' is not ready: kustomization path not found"))
        #expect(
            FluxReadiness.check(Self.kustomization(ready: "True", revision: Self.revision, suspend: true), revision: Self.revision)
                == .failed("Kustomization 'flux-system/flux-system' is suspended"))
    }

    @Test func theStatusMatchesTheSpecAsBootstrapCommitsIt() {
        let spec = GitOpsSpec(url: "ssh://github.com/me/fleet.git", branch: "main", path: "clusters/home", credentials: nil)
        #expect(GitOpsStatus(url: "ssh://git@github.com/me/fleet.git", branch: "main", path: "./clusters/home", ready: true).matches(spec))
        #expect(!GitOpsStatus(url: "ssh://git@github.com/me/fleet.git", branch: "main", path: "./clusters/other", ready: true).matches(spec))
        #expect(!GitOpsStatus(url: "ssh://git@github.com/me/fleet.git", branch: "dev", path: "./clusters/home", ready: true).matches(spec))
    }
}
