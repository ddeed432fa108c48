public import ClusterKit

/// Waits for Hetzner actions, coalescing every caller's pending actions into one
/// `GET /actions?id=...&id=...` per polling round, so N nodes coming up cost one request per
/// round rather than N. Rounds back off (1, 1, 2, 3, 5, 5... seconds) as the spec's "Actions"
/// section asks ("avoid polling the action's state too frequently").
public actor HetznerActionWaiter {
    public static let defaultSchedule: [Duration] = [.seconds(1), .seconds(1), .seconds(2), .seconds(3), .seconds(5)]

    private let client: HetznerClient
    private let time: any TimeSource
    private let schedule: [Duration]
    private typealias Waiter = (token: Int, continuation: CheckedContinuation<HetznerAction, any Error>)
    private var waiting: [Int: [Waiter]] = [:]
    private var nextToken = 0
    private var polling = false

    public init(client: HetznerClient, time: any TimeSource, schedule: [Duration] = HetznerActionWaiter.defaultSchedule) {
        self.client = client
        self.time = time
        self.schedule = schedule.isEmpty ? [.seconds(1)] : schedule
    }

    /// Waits until every action has finished; returns them finished (status `success` or `error`).
    /// Actions already finished cost no request.
    public func wait(for actions: [HetznerAction]) async throws -> [HetznerAction] {
        var finished = actions.filter(\.isFinished)
        let pending = actions.filter { !$0.isFinished }.map(\.id)
        if pending.isEmpty { return finished }
        finished += try await withThrowingTaskGroup(of: HetznerAction.self) { group in
            for id in pending { group.addTask { try await self.waitOne(id) } }
            var results: [HetznerAction] = []
            for try await action in group { results.append(action) }
            return results
        }
        return finished
    }

    /// A cancelled caller stops waiting at once with `CancellationError`; the action itself
    /// carries on at Hetzner (actions cannot be cancelled through the API).
    private func waitOne(_ id: Int) async throws -> HetznerAction {
        nextToken += 1
        let token = nextToken
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard !Task.isCancelled else {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                waiting[id, default: []].append((token, continuation))
                if !polling {
                    polling = true
                    Task { await self.pollLoop() }
                }
            }
        } onCancel: {
            Task { await self.cancel(id: id, token: token) }
        }
    }

    private func cancel(id: Int, token: Int) {
        guard var waiters = waiting[id], let index = waiters.firstIndex(where: { $0.token == token }) else { return }
        let waiter = waiters.remove(at: index)
        waiting[id] = waiters.isEmpty ? nil : waiters
        waiter.continuation.resume(throwing: CancellationError())
    }

    private func pollLoop() async {
        var round = 0
        while !waiting.isEmpty {
            let delay = schedule[min(round, schedule.count - 1)]
            round += 1
            do {
                try await time.sleep(for: delay)
                let ids = waiting.keys.sorted()
                let actions = try await client.actions(ids: ids)
                var seen = Set<Int>()
                for action in actions {
                    seen.insert(action.id)
                    guard action.isFinished, let waiters = waiting.removeValue(forKey: action.id) else { continue }
                    for waiter in waiters { waiter.continuation.resume(returning: action) }
                }
                for id in ids where !seen.contains(id) {
                    let error = ClusterError(.provider, "Hetzner action \(id) vanished while being waited on")
                    for waiter in waiting.removeValue(forKey: id) ?? [] { waiter.continuation.resume(throwing: error) }
                }
            } catch {
                let all = waiting
                waiting = [:]
                for waiter in all.values.joined() { waiter.continuation.resume(throwing: error) }
            }
        }
        polling = false
    }
}
