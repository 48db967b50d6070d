/// Small bar charts drawn on the server as SVG: no script, no library, readable by screen
/// readers through their title and the table beside them.
enum SparklineChart {
    /// Bars for `values`, scaled to the largest, `width` × `height` pixels, with a title
    /// saying what they are (escaped: it may hold names from events).
    static func bars(_ values: [Int], width: Int = 600, height: Int = 80, title: String) -> String {
        let largest = max(values.max() ?? 0, 1)
        let step = Double(width) / Double(max(values.count, 1))
        var svg = #"<svg class="chart" viewBox="0 0 \#(width) \#(height)" width="100%" height="\#(height)" role="img" preserveAspectRatio="none">"#
        svg += "<title>\(WebText.escape(title))</title>"
        svg += #"<line x1="0" y1="\#(height - 1)" x2="\#(width)" y2="\#(height - 1)" class="axis"/>"#
        for (index, value) in values.enumerated() where value > 0 {
            let barHeight = max(2.0, Double(value) / Double(largest) * Double(height - 4))
            let x = Double(index) * step
            svg += #"<rect x="\#(format(x + 0.5))" y="\#(format(Double(height) - barHeight))" width="\#(format(max(step - 1, 1)))" height="\#(format(barHeight))"><title>\#(value)</title></rect>"#
        }
        return svg + "</svg>"
    }

    /// One horizontal stacked bar of parts (status → count), each with its CSS class.
    static func stacked(_ parts: [(name: String, count: Int)], width: Int = 300, height: Int = 14) -> String {
        let total = max(parts.reduce(0) { $0 + $1.count }, 1)
        var svg = #"<svg class="stack" viewBox="0 0 \#(width) \#(height)" width="100%" height="\#(height)" preserveAspectRatio="none" role="img">"#
        svg += "<title>\(WebText.escape(parts.map { "\($0.count) \($0.name)" }.joined(separator: ", ")))</title>"
        var x = 0.0
        for part in parts where part.count > 0 {
            let partWidth = Double(part.count) / Double(total) * Double(width)
            svg += #"<rect class="part \#(WebText.escape(part.name))" x="\#(format(x))" y="0" width="\#(format(partWidth))" height="\#(height)"/>"#
            x += partWidth
        }
        return svg + "</svg>"
    }

    private static func format(_ value: Double) -> String {
        String(Double(Int(value * 10)) / 10)
    }
}
