/// Whether a Flux object has reconciled a revision, judged the way `flux bootstrap` waits for
/// its GitRepository and Kustomization (fluxcd/flux2 `pkg/bootstrap/bootstrap.go`,
/// `objectReconciled` and `hasRevision`):
///
/// - `spec.suspend: true` is an error at once: the wait would never end.
/// - `status.observedGeneration` behind `metadata.generation`: the controller has not seen the
///   current spec yet, keep waiting.
/// - `Ready=True`: done when the revision matches (`status.artifact.revision` for a
///   GitRepository, `status.lastAttemptedRevision` for a Kustomization); else keep waiting.
/// - `Ready=False`: an error at once, carrying the condition's message.
/// - no `Ready` condition yet: keep waiting.
public enum FluxReadiness: Sendable, Hashable {
    case reconciled
    case waiting(String)
    case failed(String)

    public static func check(_ object: KubernetesObject, revision expected: String) -> FluxReadiness {
        let name = "\(object.kind) '\(object.namespace.map { "\($0)/" } ?? "")\(object.name)'"
        if object.json.value(at: ["spec", "suspend"])?.boolValue == true {
            return .failed("\(name) is suspended")
        }
        if let observed = object.json.value(at: ["status", "observedGeneration"])?.intValue, let generation = object.generation,
            observed != generation
        {
            return .waiting("\(name) has not observed generation \(generation) yet")
        }
        guard let ready = object.condition("Ready") else { return .waiting("\(name) has not reported Ready yet") }
        switch ready.status {
        case "True":
            let revision = Self.revision(of: object)
            return revision == expected ? .reconciled : .waiting("\(name) is at \(revision ?? "no revision"), waiting for \(expected)")
        case "False":
            return .failed("\(name) is not ready: \(ready.message ?? ready.reason ?? "no message")")
        default:
            return .waiting("\(name): \(ready.message ?? "reconciliation in progress")")
        }
    }

    /// The revision an object reports as reconciled: a source's artifact, a Kustomization's last attempt.
    public static func revision(of object: KubernetesObject) -> String? {
        let path = object.kind == "Kustomization" ? ["status", "lastAttemptedRevision"] : ["status", "artifact", "revision"]
        return object.json.value(at: path)?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
    }
}
