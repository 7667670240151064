/*
 * qr_svg.h - a QR code (libqrencode, error correction level M) drawn as an SVG document,
 * for the authenticator app to scan at enrolment (src/http/qr_svg.c).
 */
#ifndef CRM_QR_SVG_H
#define CRM_QR_SVG_H

/*
 * The SVG of `text` as a new string (free it): one module per user unit, a quiet zone of
 * four modules, black on white. NULL when the text does not fit a QR code.
 */
char *qr_svg(const char *text);

#endif
