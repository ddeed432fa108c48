/// The Git half of `flux bootstrap git`: writes Flux's bootstrap layout into the GitOps
/// repository and pushes it, so the cluster half can wait for Flux to reconcile that commit.
///
/// One conforming type per backend: `GitBootstrapRepository` (Provisioners, the `git` CLI) for
/// real runs; the simulator keeps its own ``GitOpsInstaller``.
public protocol GitOpsRepository: Sendable {
    /// Clones the branch (initialising it in an empty repository), writes
    /// `<path>/flux-system/{gotk-components,gotk-sync,kustomization}.yaml`, commits what changed
    /// with Flux's messages and author, and pushes; on a push race it fetches and applies again.
    ///
    /// Nothing changed means no commit and no push; the result then names the branch head as it is.
    func bootstrap(_ request: GitOpsBootstrapRequest) async throws -> GitOpsPushResult
}
