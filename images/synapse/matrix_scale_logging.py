"""Synapse's log lines for Loki, with the traceback of an exception.

Synapse's TerseJsonFormatter writes one JSON object per line (log, namespace, level, time and the
request from the logging context) but only the type and message of an exception; this formatter
adds the formatted traceback as `exc_traceback`. Built into the Synapse image (images/synapse).
"""
import logging

from synapse.logging import TerseJsonFormatter


class TracebackJsonFormatter(TerseJsonFormatter):
    def _format(self, record: logging.LogRecord, event: dict) -> str:
        if record.exc_info and record.exc_info[0] is not None:
            if not record.exc_text:
                record.exc_text = self.formatException(record.exc_info)
            event["exc_traceback"] = record.exc_text
        return super()._format(record, event)
