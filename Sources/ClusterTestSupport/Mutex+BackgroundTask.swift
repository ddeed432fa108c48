import Synchronization

extension Mutex where Value == Task<Void, Never>? {
    /// Takes the background task out, cancels it and waits until it has ended: a fixture's
    /// `stop()` returns only once its loop can touch nothing more.
    func cancelAndWait() async {
        let task = withLock { current in
            defer { current = nil }
            return current
        }
        task?.cancel()
        await task?.value
    }
}
