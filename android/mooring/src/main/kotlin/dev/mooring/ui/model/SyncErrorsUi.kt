// What one row of the sync-errors list shows (a change the server refused),
// computed without any Android type so the Compose list (dev.mooring.ui) only
// draws it. The time is formatted in a zone the caller passes: the golden
// images render in UTC whatever machine they run on.
package dev.mooring.ui.model

import dev.mooring.ffi.ChangeAction
import dev.mooring.ffi.SyncErrorInfo
import dev.mooring.ffi.SyncErrorKind
import dev.mooring.ffi.Value
import java.time.Instant
import java.time.ZoneId
import java.time.format.DateTimeFormatter
import java.util.Locale

data class SyncErrorModel(
    /** The id retry/discard take. */
    val id: Long,
    /** "Update refused: Contoso": what was tried, on which row. */
    val title: String,
    /** "accounts · HTTP 412 · 09:30": where, what the server said, when. */
    val detail: String,
    /** The server's message, for the user. */
    val message: String,
    /** What retrying does, for the button's screen-reader label. */
    val retryDescription: String,
    val discardDescription: String,
)

fun SyncErrorInfo.errorModel(zone: ZoneId = ZoneId.systemDefault(), locale: Locale = Locale.getDefault()): SyncErrorModel {
    val what = when (action) {
        ChangeAction.CREATE -> "New row"
        ChangeAction.UPDATE -> "Update"
        ChangeAction.DELETE -> "Delete"
    }
    // The row's primary name when the change carries one; else the start of its key.
    val name = (values["name"] as? Value.Text)?.value?.takeIf { it.isNotBlank() } ?: rowId.take(8)
    val why = when (kind) {
        SyncErrorKind.CONFLICT -> "conflict"
        SyncErrorKind.RECORD_NOT_FOUND -> "row not found"
        SyncErrorKind.OTHER -> null
    }
    val time = DateTimeFormatter.ofPattern("HH:mm", locale).format(Instant.ofEpochMilli(atMs).atZone(zone))
    // A refused transaction is one entry: all of it was refused, all of it retries.
    val n = transaction.size
    val whole = n > 1
    return SyncErrorModel(
        id = id,
        title = if (whole) "Transaction refused: $n changes" else "$what refused: $name",
        detail = listOfNotNull(
            if (whole) transaction.map { it.table }.distinct().joinToString(", ") else table,
            "HTTP $httpStatus", why, time,
        ).joinToString(" · "),
        message = message.ifBlank { "The server gave no reason." },
        retryDescription = if (whole) "Retry: send the $n changes again, together" else "Retry: send the change to $name again",
        discardDescription = if (whole) "Discard: keep the server's rows for all $n changes" else "Discard: keep the server's $name",
    )
}
