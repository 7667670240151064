/*
 * qr_svg.c - a QR code as SVG (qr_svg.h): libqrencode computes the modules, this draws
 * them as one path of unit squares on a white square with a four-module quiet zone.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/qr_svg.h"

#include <qrencode.h>

#include "crm/buf.h"
#include "crm/banned.h"

#define QUIET_ZONE 4

char *qr_svg(const char *text)
{
	QRcode *code = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!code)
		return NULL;
	int size = code->width + 2 * QUIET_ZONE;
	struct buf svg = BUF_INIT;
	buf_addf(&svg,
		 "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" "
		 "height=\"%d\" shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\" "
		 "fill=\"#fff\"/><path fill=\"#000\" d=\"",
		 size, size, size * 4, size * 4, size, size);
	for (int y = 0; y < code->width; y++) {
		for (int x = 0; x < code->width; x++) {
			if (code->data[y * code->width + x] & 1) /* bit 0: a dark module */
				buf_addf(&svg, "M%d %dh1v1h-1z", x + QUIET_ZONE, y + QUIET_ZONE);
		}
	}
	buf_adds(&svg, "\"/></svg>");
	QRcode_free(code);
	return buf_detach(&svg, NULL);
}
