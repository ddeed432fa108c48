/// Collects patch sources while the decoder runs (its methods return values, so the sources
/// gather here and move into the draft at the end).
final class PatchSourceCollector {
    var sources: [PatchSource] = []
}
