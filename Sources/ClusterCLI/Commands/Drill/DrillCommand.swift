import ArgumentParser

struct DrillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drill",
        abstract: "Break the cluster on purpose, let failover repair it, and keep the report.",
        discussion: """
            A drill follows the spec's `drills:` section: its scenarios, its guards and its cron \
            schedule. Each run leaves a report (JSON and Markdown) in the cluster's drill history, \
            pushes the heartbeat named by `heartbeatURLEnv`, and writes Prometheus textfile metrics.

            Examples:
              clusterctl drill schedule home --install --user
              clusterctl drill run home --scenario lose-worker
              clusterctl drill run home --simulate
              clusterctl drill history home -o json
            """,
        subcommands: [DrillRun.self, DrillStop.self, DrillHistoryCommand.self, DrillSchedule.self])
}
