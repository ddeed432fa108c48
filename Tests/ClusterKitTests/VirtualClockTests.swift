import ClusterKit
import Synchronization
import Testing

actor Recorder {
    var lines: [String] = []
    func add(_ line: String) { lines.append(line) }
}

@Suite struct VirtualClockTests {
    @Test func tenMinutesOfSleepingRunsInstantly() throws {
        let clock = VirtualClock()
        let loop = SimulationRunLoop(clock: clock)
        let started = ContinuousClock.now
        let lines = try loop.run {
            let recorder = Recorder()
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        try? await clock.sleep(for: .seconds(600 - index))
                        await recorder.add("\(index)@\(clock.now)")
                    }
                }
            }
            return await recorder.lines
        }
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(lines.count == 50)
        #expect(lines.first == "49@551.0 seconds")
        #expect(lines.last == "0@600.0 seconds")
        #expect(clock.now == .seconds(600))
    }

    @Test func sameWorkGivesSameInterleaving() throws {
        func once() throws -> [String] {
            let clock = VirtualClock()
            return try SimulationRunLoop(clock: clock).run {
                let recorder = Recorder()
                await withTaskGroup(of: Void.self) { group in
                    for index in 0..<20 {
                        group.addTask {
                            for step in 0..<3 {
                                try? await clock.sleep(for: .seconds(index % 3 + step))
                                await recorder.add("\(index).\(step)")
                            }
                        }
                    }
                }
                return await recorder.lines
            }
        }
        let first = try once()
        for _ in 0..<5 { #expect(try once() == first) }
    }

    @Test func cancellationWakesSleeper() throws {
        let clock = VirtualClock()
        let outcome = try SimulationRunLoop(clock: clock).run {
            let task = Task { try await clock.sleep(for: .seconds(100)); return "slept" }
            try await clock.sleep(for: .seconds(1))
            task.cancel()
            return (try? await task.value) ?? "cancelled"
        }
        #expect(outcome == "cancelled")
        #expect(clock.now == .seconds(1))
    }
}
