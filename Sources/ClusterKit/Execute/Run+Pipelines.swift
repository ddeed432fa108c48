/// The work pipelines of one `apply`.
extension Run {
    /// Ensures the provider's image and shared resources; fulfils the image for waiting nodes.
    func prepare(provider: String) async -> ClusterExecutorFinished {
        guard let shot = images[provider] else { return nil }
        do {
            let provisioner = try backend.provisioner(provider)
            let request = try executor.spec.imageRequest(forProvider: provider)
            emit(.images, provider, .started, "ensuring Talos \(request.talosVersion) image (\(request.platform), \(request.architecture))")
            let image = try await retrying(.images, provider, "image") { try await provisioner.ensureImage(request) }
            emit(.images, provider, .succeeded, "image \(image.id) ready")
            if executor.wants(.machines) {
                try await retrying(.machines, provider, "cluster resources") { try await provisioner.ensureClusterResources(cluster: executor.spec.name) }
            }
            await shot.fulfil(.success(image))
            return nil
        } catch {
            emit(.images, provider, .failed, oneLine(error))
            await shot.fulfil(.failure(ClusterError(.provider, "the image on \(provider) is not available: \(error)")))
            return .failure(provider, oneLine(error))
        }
    }

    /// Creates the floating IP the configs carry (the endpoint's, or the ingress IP's: see
    /// ``ClusterSpec/configFloatingIPName``) before any config is rendered; nil when there is none.
    func resolveEndpoint() async -> ClusterExecutorFinished {
        guard let name = executor.spec.configFloatingIPName, executor.wants(.machines) else {
            await endpointIP.fulfil(.success(nil))
            return nil
        }
        do {
            let address = try await retrying(.machines, name, "floating IP") { try await floatingIPProvisioner().ensureFloatingIP(named: name, cluster: executor.spec.name) }
            emit(.machines, name, .succeeded, "floating IP \(name) is \(address)")
            await endpointIP.fulfil(.success(address))
            return nil
        } catch {
            await endpointIP.fulfil(.failure(ClusterError(.provider, "the endpoint's floating IP \(name) is not available: \(error)")))
            emit(.machines, name, .failed, oneLine(error))
            return .failure(name, oneLine(error))
        }
    }

    func floatingIPProvisioner() throws(ClusterError) -> any FloatingIPProvisioner {
        try operations.floatingIPProvisioner()
    }

    /// Points the ingress floating IP at this node when it is the preferred holder and the IP
    /// points nowhere, or at a machine that no longer runs.
    func claimIngress(_ machine: ObservedMachine) async throws {
        guard machine.identity.node == ingressHolder, executor.spec.failover?.ingressIP != nil else { return }
        try await operations.claimIngress(for: machine, running: Set(observed.machines.filter { $0.phase == .running }.map(\.providerID)))
    }

    /// Takes one node from wherever it is to Ready (or to the `--until` stage).
    func converge(_ node: NodePlan, existing: ObservedMachine?, replacing broken: ObservedMachine?) async -> NodeOutcome {
        let name = node.identity.node
        do {
            let state = try await withTimeout(options.nodeTimeout, "\(name) reaching its target state") {
                try await convergeSteps(node, existing: existing, replacing: broken)
            }
            return NodeOutcome(node: name, state: state)
        } catch {
            var message = oneLine(error)
            if (error as? ClusterError)?.code == .timeout, let last = await watcher.lastState(of: name) ?? lastSeen.state(of: name) {
                message += "; last state seen: \(last)"
            }
            if node.identity.role == .controlPlane { await coordinator.nodeFailed(name, reason: message) }
            emit(.machines, name, .failed, message)
            return NodeOutcome(node: name, state: .failed, message: message)
        }
    }

    private func convergeSteps(_ node: NodePlan, existing: ObservedMachine?, replacing broken: ObservedMachine?) async throws -> NodeOutcome.State {
        let name = node.identity.node
        let provisioner = try backend.provisioner(node.provider)
        if let broken {
            emit(.machines, name, .started, "replacing failed machine \(broken.providerID)")
            try await deleteMachine(broken)
        }
        var machine: ObservedMachine
        if let existing {
            machine = existing
        } else {
            guard let shot = images[node.provider] else { throw ClusterError(.notFound, "no image for \(node.provider)") }
            let image = try await shot.value()
            emit(.machines, name, .started, "creating on \(node.provider) (\(node.size)\(node.location.map { " in \($0)" } ?? ""))")
            let floatingIP = try await endpointIP.value()
            let userData = provisioner.acceptsUserData ? try backend.configs.render(node: node.identity, addresses: [], floatingIP: floatingIP) : nil
            let request = MachineRequest(identity: node.identity, size: node.size, image: image, location: node.location, userData: userData, publicIPv4: node.publicIPv4)
            let limiter = limiters[node.provider]
            machine = try await retrying(.machines, name, "create") {
                guard let limiter else { return try await provisioner.createMachine(request) }
                return try await limiter.run { try await provisioner.createMachine(request) }
            }
            emit(.machines, name, .progress, "created \(machine.providerID), booting")
        }
        if machine.phase != .running {
            let pending = machine
            machine = try await retrying(.machines, name, "boot") { try await provisioner.waitUntilRunning(pending) }
        }
        emit(.machines, name, .succeeded, "running at \(machine.addresses.first ?? "no address yet")")
        try await claimIngress(machine)
        guard executor.wants(.bootstrap) else { return .stopped }

        try await configure(machine)
        let role = node.identity.role
        if role == .controlPlane {
            if try await coordinator.arrive(name) == .bootstrap {
                try await bootstrap(on: machine)
            }
        } else {
            try await coordinator.waitUntilBootstrapped()
        }
        lastSeen.record(name, "Talos running, no Kubernetes node registered yet")
        emit(.bootstrap, name, .progress, "waiting for the node to turn Ready")
        try await watcher.waitUntilReady(name)
        emit(.bootstrap, name, .succeeded, "Ready")
        return .ready
    }

    /// Applies the config over the maintenance API when the node came up without one, then waits
    /// for Talos to install, reboot and run.
    private func configure(_ machine: ObservedMachine) async throws {
        let name = machine.identity.node
        var status = try await retrying(.bootstrap, name, "Talos status") { try await backend.talos.status(of: machine) }
        var applied = false
        if status.stage != .running { emit(.bootstrap, name, .progress, "installing Talos and rebooting") }
        while status.stage != .running {
            lastSeen.record(name, "Talos \(status.stage.rawValue)")
            if status.stage == .maintenance {
                // A machine still booting answers nothing at first; maintenance may come later.
                guard !applied else {
                    throw ClusterError(.talos, "\(name) is back in maintenance mode after its config was applied", hint: "check the node's console for config errors")
                }
                emit(.bootstrap, name, .started, "applying machine config (maintenance mode)")
                let config = try backend.configs.render(node: machine.identity, addresses: machine.addresses, floatingIP: try await endpointIP.value())
                try await retrying(.bootstrap, name, "apply config") { try await backend.talos.applyConfiguration(config, to: machine, insecure: true) }
                applied = true
            }
            try await time.sleep(for: options.pollInterval)
            status = try await retrying(.bootstrap, name, "Talos status") { try await backend.talos.status(of: machine) }
        }
        emit(.bootstrap, name, .progress, "Talos running")
    }

    /// Bootstraps etcd on this node unless a member list says it is done already (a crash after
    /// `Bootstrap` returned, before we heard): exactly once per cluster.
    private func bootstrap(on machine: ObservedMachine) async throws {
        let name = machine.identity.node
        let members = try await retrying(.bootstrap, name, "etcd members") { try await backend.talos.etcdMembers(via: machine) }
        if members.isEmpty {
            emit(.bootstrap, name, .started, "bootstrapping etcd")
            // `.alreadyBootstrapped` (Talos' AlreadyExists): someone bootstrapped it between our
            // check and our call; that is the outcome we want.
            _ = try await retrying(.bootstrap, name, "bootstrap") { try await backend.talos.bootstrap(machine) }
            // Either outcome means etcd's data was started on this node.
            await coordinator.recordBootstrap(by: name)
        }
        await coordinator.bootstrapSucceeded()
        emit(.bootstrap, name, .succeeded, members.isEmpty ? "etcd bootstrapped" : "etcd was already bootstrapped")
    }

    /// Removes a machine the spec no longer wants: etcd membership first, then the Kubernetes
    /// node, then the machine, so quorum arithmetic stays right.
    func remove(_ machine: ObservedMachine, reason: String) async -> NodeOutcome {
        let name = machine.identity.node
        do {
            emit(.machines, name, .started, "removing (\(reason))")
            try await deleteMachine(machine)
            emit(.machines, name, .succeeded, "removed")
            return NodeOutcome(node: name, state: .deleted)
        } catch {
            emit(.machines, name, .failed, oneLine(error))
            return NodeOutcome(node: name, state: .failed, message: "removing: \(error)")
        }
    }

    func deleteMachine(_ machine: ObservedMachine) async throws {
        let name = machine.identity.node
        // Not seeing etcd members is no proof that etcd was never bootstrapped: a cluster that
        // lost quorum answers no member list at all. Only a node that never left maintenance
        // mode surely has no member; any other control plane is checked through its peers,
        // leaving out peers still in maintenance (they have no etcd to ask).
        let peers = observed.machines.filter { observed.talos[$0.identity.node]?.stage != .maintenance }
        try await operations.removeNode(
            machine, peers: peers, mayHoldEtcdMember: observed.talos[name]?.stage != .maintenance, limiter: limiters[machine.provider])
    }

    /// Installs Flux once the Kubernetes API answers, or brings an installation to the spec.
    ///
    /// The installer runs even when Flux already reconciles the spec's path: only it can tell
    /// whether the layout or the Flux version in Git is behind the spec, and it waits for Flux to
    /// be Ready at the branch's commit. It changes nothing when nothing differs.
    func installGitOps(_ gitops: GitOpsSpec) async -> ClusterExecutorFinished {
        do {
            try await coordinator.waitUntilBootstrapped()
            emit(.gitops, "flux", .progress, "waiting for the Kubernetes API")
            while try await !retrying(.gitops, "flux", "API check", { try await backend.kubernetes.isAPIServerUp() }) {
                try await time.sleep(for: options.pollInterval)
            }
            let status = try await retrying(.gitops, "flux", "status", { try await backend.gitops.status() })
            if let status, status.matches(gitops) {
                emit(.gitops, "flux", .started, "checking Flux, which reconciles \(gitops.url) path \(gitops.path)")
            } else {
                emit(.gitops, "flux", .started, "installing Flux from \(gitops.url) (branch \(gitops.branch), path \(gitops.path))")
            }
            let outcome = try await retrying(.gitops, "flux", "install") { try await backend.gitops.install(gitops, force: options.forceGitOps) }
            for message in outcome.messages.dropLast() { emit(.gitops, "flux", .progress, message) }
            guard outcome.changedAnything else {
                emit(.gitops, "flux", .succeeded, "Flux already at \(outcome.revision), reconciling \(gitops.path)")
                return .gitops(false)
            }
            emit(.gitops, "flux", .succeeded, "Flux reconciling \(gitops.path), Ready at \(outcome.revision)")
            return .gitops(true)
        } catch {
            emit(.gitops, "flux", .failed, oneLine(error))
            return .failure("flux", oneLine(error))
        }
    }

    /// Every wanted node Ready, etcd with one voting member per control plane, Flux ready.
    func checkHealth() async throws {
        try await operations.waitUntilHealthy(NodeOperations.ExpectedHealth(plan: plan, spec: executor.spec))
    }
}

/// What a pipeline child reports back to ``Run/execute()``; nil when it has nothing to add.
typealias ClusterExecutorFinished = RunFinished?

enum RunFinished: Sendable {
    case node(NodeOutcome)
    case failure(String, String)
    case gitops(Bool)
}
