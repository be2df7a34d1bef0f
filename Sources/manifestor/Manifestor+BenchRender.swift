import ArgumentParser
import Foundation
import Templates

extension Manifestor {
    struct BenchRender: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bench-render",
            abstract: "Measure rendering: N preview environments of the catalog, in memory, to canonical YAML.")

        @Option(help: "Previews per run.")
        var count = 1000

        @Option(help: "Runs; the median is reported with min and max.")
        var runs = 7

        @OptionGroup var templateOptions: TemplateOptions

        func run() async throws {
            let renderer = Renderer(catalog: try templateOptions.catalog())
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            var seconds: [Double] = []
            var objects = 0
            var bytes = 0
            for _ in 0..<runs {
                objects = 0
                bytes = 0
                let start = ContinuousClock.now
                for i in 0..<count {
                    let env = try renderer.preview(taskID: "bench-\(i)", images: ["backend": "git.fuq.tv/admin/aiworker-backend:pr-\(i)"], ttl: nil, now: now)
                    for (_, text) in env.files { bytes += text.utf8.count }
                    objects += env.objects.count
                }
                let d = ContinuousClock.now - start
                seconds.append(Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
            }
            seconds.sort()
            let median = seconds[seconds.count / 2]
            printLine("| measure | median | min | max |")
            printLine("|---|---|---|---|")
            printLine(String(format: "| render %d previews (%d objects, %.1f MiB of YAML) | %.3f s | %.3f s | %.3f s |",
                             count, objects, Double(bytes) / 1_048_576, median, seconds.first!, seconds.last!))
            printLine(String(format: "| objects per second | %.0f | %.0f | %.0f |",
                             Double(objects) / median, Double(objects) / seconds.last!, Double(objects) / seconds.first!))
            printLine(String(format: "| goal: %d previews under 1 s | %@ | | |", count, median < 1 ? "met" : "missed"))
        }
    }
}
