public import Foundation
import Synchronization

/// A ``TalosConfigSource`` whose secrets bundle is read, or created the first time, only when a
/// config is first rendered: `plan` and `status` never touch the bundle, `up` creates it once.
public final class LazyTalosConfigSource: MachineConfigRendering {
    private let spec: ClusterSpec
    private let store: SecretsStore
    private let source = Mutex<TalosConfigSource?>(nil)

    public init(spec: ClusterSpec, store: SecretsStore) {
        self.spec = spec
        self.store = store
    }

    public func render(node: NodeIdentity, addresses: [String], floatingIP: String?) throws -> MachineConfigPayload {
        try loaded().render(node: node, addresses: addresses, floatingIP: floatingIP)
    }

    public func loaded() throws -> TalosConfigSource {
        try source.withLock { cached in
            if let cached { return cached }
            let secrets = try store.loadOrCreate(talosVersion: spec.talos.version)
            let created = TalosConfigSource(spec: spec, secrets: secrets)
            cached = created
            return created
        }
    }
}
