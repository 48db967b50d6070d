public import Foundation

/// When a channel's or template's messages may go out (`send_window: { days: [mon-fri],
/// from: "08:00", to: "20:00" }`), in the recipient's time zone. A send outside it is
/// deferred to the next opening, never dropped.
///
/// Times are local wall-clock times computed with Foundation's `Calendar` in the recipient's
/// `TimeZone`, so an opening across a daylight-saving change is at 08:00 local on both sides
/// of it (and an opening in a skipped hour is the first valid time after it).
public struct SendWindow: Sendable, Hashable {
    /// The weekdays it opens on, as `Calendar` numbers them (1 = Sunday … 7 = Saturday).
    public var weekdays: Set<Int>
    /// Opening time, minutes after local midnight.
    public var fromMinute: Int
    /// Closing time, minutes after local midnight (exclusive); greater than `fromMinute`.
    public var toMinute: Int

    /// A window.
    public init(weekdays: Set<Int>, fromMinute: Int, toMinute: Int) {
        self.weekdays = weekdays
        self.fromMinute = fromMinute
        self.toMinute = toMinute
    }

    /// The day names `days:` takes, in `Calendar` order.
    static let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    /// Reads `days:` entries (`mon`, `mon-fri`, `sat-sun`, `fri-mon`); `invalid` names the first bad one.
    static func weekdays(_ entries: [String]) -> (days: Set<Int>, invalid: String?) {
        var days: Set<Int> = []
        for entry in entries {
            let parts = entry.lowercased().split(separator: "-", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            let numbers = parts.map { part in dayNames.firstIndex { $0 == part } }
            guard (1...2).contains(parts.count), numbers.allSatisfy({ $0 != nil }) else { return (days, entry) }
            let first = numbers[0]!, last = numbers[numbers.count - 1]!
            var day = first
            while true {
                days.insert(day + 1)
                if day == last { break }
                day = (day + 1) % 7
            }
        }
        return (days, nil)
    }

    /// Reads `HH:MM` (24-hour) as minutes after midnight; `24:00` is the end of the day.
    static func minute(_ text: String) -> Int? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]),
              (0...24).contains(hour), (0...59).contains(minute), hour * 60 + minute <= 24 * 60
        else { return nil }
        return hour * 60 + minute
    }

    /// `nil` when `date` is inside the window in `zone`; otherwise the next moment it opens.
    public func nextOpening(after date: Date, in zone: TimeZone) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let local = calendar.dateComponents([.year, .month, .day, .hour, .minute, .weekday], from: date)
        let minuteOfDay = (local.hour ?? 0) * 60 + (local.minute ?? 0)
        if weekdays.contains(local.weekday ?? 0) && minuteOfDay >= fromMinute && minuteOfDay < toMinute { return nil }
        guard !weekdays.isEmpty, let startOfDay = calendar.date(from: DateComponents(year: local.year, month: local.month, day: local.day)) else { return nil }
        for offset in 0...7 {
            guard let day = calendar.date(byAdding: .day, value: offset, to: startOfDay) else { continue }
            let parts = calendar.dateComponents([.year, .month, .day, .weekday], from: day)
            guard weekdays.contains(parts.weekday ?? 0) else { continue }
            var opening = DateComponents(year: parts.year, month: parts.month, day: parts.day, hour: fromMinute / 60, minute: fromMinute % 60)
            opening.timeZone = zone
            // In a skipped hour (02:30 on a spring-forward night) Calendar gives the first valid time after it.
            guard let openingDate = calendar.date(from: opening), openingDate > date else { continue }
            return openingDate
        }
        return nil
    }

    /// The local wall-clock time of `date` in `zone`, to the minute (`2026-11-25T08:00`), for histories.
    public static func localTime(_ date: Date, in zone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        func two(_ n: Int?) -> String { let v = n ?? 0; return v < 10 ? "0\(v)" : "\(v)" }
        return "\(c.year ?? 0)-\(two(c.month))-\(two(c.day))T\(two(c.hour)):\(two(c.minute))"
    }
}
