import ArgumentParser

struct SecretsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets",
        abstract: "Adopt or save a cluster's Talos secrets bundle (never printed).",
        discussion: """
            The bundle lives at $CLUSTERCTL_HOME/<cluster>/secrets.yaml (default \
            ~/.config/clusterctl/<cluster>/), 0600, in the layout `talosctl gen secrets` writes. Losing \
            it loses the cluster; nothing replaces an existing bundle without --force.

            Examples:
              clusterctl secrets import home ./secrets.yaml
              clusterctl secrets export home /backup/home-secrets.yaml
            """,
        subcommands: [SecretsImport.self, SecretsExport.self])
}
