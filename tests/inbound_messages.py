"""Messages as the mail systems agencies use write them, for the inbound tests: each a function of the email it
answers (its tagged Reply-To address and Message-ID), returning the bytes an MTA would deliver."""

from __future__ import annotations

import base64
import io

import docx


def _crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def word_document() -> bytes:
    document = docx.Document()
    document.add_heading("Statutory role", level=1)
    document.add_paragraph("The service supervises adults on licence in Birmingham.")
    document.add_heading("Performance and impact", level=1)
    document.add_paragraph("The service trained 240 staff in safeguarding this year.")
    document.add_heading("A note from our Chief Officer", level=1)
    document.add_paragraph("We thank the Board for its support.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def outlook_reply_with_word(
    reply_to: str, original_id: str, sender: str, name: str, document: bytes | None = None
) -> bytes:
    """Outlook for Windows: multipart/mixed, a text and HTML body quoting the reminder under "From: ... Sent: ...",
    the .docx in base64."""
    attachment = base64.encodebytes(word_document() if document is None else document).decode()
    return _crlf(f"""Received: from EUR03-AM5-obe.outbound.protection.outlook.com
	(mail-am5eur03on2101.outbound.protection.outlook.com [40.107.0.101])
	by mx1.bscb.example.org (Postfix) with ESMTPS id 7C1F23E0A1
	for <{reply_to}>; Tue, 14 May 2019 10:12:44 +0100 (BST)
From: {name} <{sender}>
To: "Annual report" <{reply_to}>
Subject: RE: Reminder: your contribution to the annual report is due on 31 May 2019
Thread-Topic: Reminder: your contribution to the annual report is due on 31 May 2019
Thread-Index: AQHVCkT0mQ8yZzv3aUqSn1n8hXyQWQ==
Date: Tue, 14 May 2019 09:12:41 +0000
Message-ID: <DB6PR0701MB2344E1C2A0F5B0B7B1D9C4A6D80F0@DB6PR0701MB2344.eurprd07.prod.outlook.com>
References: {original_id}
In-Reply-To: {original_id}
Accept-Language: en-GB, en-US
Content-Language: en-GB
X-MS-Has-Attach: yes
X-MS-TNEF-Correlator:
Content-Type: multipart/mixed;
	boundary="_004_DB6PR0701MB2344E1C2A0F5B0B7B1D9C4A6D80F0DB6PR0701MB2344_"
MIME-Version: 1.0

--_004_DB6PR0701MB2344E1C2A0F5B0B7B1D9C4A6D80F0DB6PR0701MB2344_
Content-Type: multipart/alternative;
	boundary="_000_DB6PR0701MB2344E1C2A0F5B0B7B1D9C4A6D80F0DB6PR0701MB2344_"

--_000_DB6PR0701MB2344E1C2A0F5B0B7B1D9C4A6D80F0DB6PR0701MB2344_
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

Hello,

Please find our contribution attached. Our Chief Officer has signed it off.

Kind regards
{name}

From: Annual report <annual-report@bscb.example.org>
Sent: 13 May 2019 09:00
To: {name} <{sender}>
Subject: Reminder: your contribution to the annual report is due on 31 May 2019

Dear {name},

Your agency's contribution to the annual report is due on 31 May 2019.

--_000_DB6PR0701MB2344E1C2A0F5B0B7B1D9C4A6D80F0DB6PR0701MB2344_
Content-Type: text/html; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

<html><body><p>Hello,</p><p>Please find our contribution attached. Our Chief Officer has signed it off.</p>
<p>Kind regards<br>{name}</p><div id=3D"appendonsend"></div><hr>
<div id=3D"divRplyFwdMsg"><b>From:</b> Annual report &lt;annual-report@bscb.example.org&gt;<br>
<b>Sent:</b> 13 May 2019 09:00</div><p>Dear {name},</p></body></html>

--_000_DB6PR0701MB2344E1C2A0F5B0B7B1D9C4A6D80F0DB6PR0701MB2344_--

--_004_DB6PR0701MB2344E1C2A0F5B0B7B1D9C4A6D80F0DB6PR0701MB2344_
Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document;
	name="NPS contribution 2018-19.docx"
Content-Description: NPS contribution 2018-19.docx
Content-Disposition: attachment; filename="NPS contribution 2018-19.docx"; size=36512;
	creation-date="Tue, 14 May 2019 09:11:02 GMT";
	modification-date="Tue, 14 May 2019 09:11:02 GMT"
Content-Transfer-Encoding: base64

{attachment}
--_004_DB6PR0701MB2344E1C2A0F5B0B7B1D9C4A6D80F0DB6PR0701MB2344_--
""")


def outlook_plain_reply(reply_to: str, original_id: str, sender: str, name: str, *, message_id: str = "") -> bytes:
    """A one-line answer from Outlook, quoting the reminder under it."""
    message_id = message_id or "<AM6PR07MB5589C3D0E1F2A3B4C5D6E7F8A9B0C1D2@AM6PR07MB5589.eurprd07.prod.outlook.com>"
    return _crlf(f"""From: {name} <{sender}>
To: Annual report <{reply_to}>
Subject: RE: Reminder: your contribution to the annual report is due on 31 May 2019
Date: Tue, 14 May 2019 11:02:10 +0000
Message-ID: {message_id}
References: {original_id}
In-Reply-To: {original_id}
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable
MIME-Version: 1.0

We will send it on Friday =E2=80=93 it is with our Chief Officer for sign-off.

Gareth

From: Annual report <annual-report@bscb.example.org>
Sent: 13 May 2019 09:00
To: {name} <{sender}>
Subject: Reminder: your contribution to the annual report is due on 31 May 2019

Dear {name},

Your agency's contribution to the annual report is due on 31 May 2019.
""")


def exchange_automatic_reply(reply_to: str, original_id: str, sender: str, name: str) -> bytes:
    """Exchange Online's out-of-office: Auto-Submitted: auto-generated, "Automatic reply:" and a date of return."""
    return _crlf(f"""From: {name} <{sender}>
To: Annual report <{reply_to}>
Subject: Automatic reply: Reminder: your contribution to the annual report is due on 31 May 2019
Thread-Topic: Reminder: your contribution to the annual report is due on 31 May 2019
Date: Mon, 13 May 2019 08:00:05 +0000
Message-ID: <b7d3a1e0c4f24e8e9a0d1c2b3a4f5e6d@AM0PR07MB4321.eurprd07.prod.outlook.com>
In-Reply-To: {original_id}
References: {original_id}
Auto-Submitted: auto-generated
X-Auto-Response-Suppress: All
X-MS-Exchange-Inbox-Rules-Loop: {sender}
Content-Type: text/plain; charset="us-ascii"
MIME-Version: 1.0

Thank you for your email. I am out of the office until Monday 20 May 2019 with no access to email.
For anything urgent please contact the safeguarding team.
""")


def gmail_vacation_reply(reply_to: str, sender: str, name: str) -> bytes:
    """Gmail's vacation responder: Auto-Submitted: auto-replied, a subject of the writer's choosing, no date."""
    return _crlf(f"""MIME-Version: 1.0
Date: Mon, 13 May 2019 09:00:07 +0100
Auto-Submitted: auto-replied
Message-ID: <CAF3k9Zq1vX8yR2nT5uW7xY0zA1bC2dE3fG4hI5jK6lM7nO8pQ@mail.gmail.com>
Subject: Away from my desk
From: {name} <{sender}>
To: {reply_to}
Content-Type: multipart/alternative; boundary="000000000000a1b2c3058e9f1234"

--000000000000a1b2c3058e9f1234
Content-Type: text/plain; charset="UTF-8"

I am on leave with limited access to email. I will reply when I am back.

--000000000000a1b2c3058e9f1234
Content-Type: text/html; charset="UTF-8"

<div dir="ltr">I am on leave with limited access to email. I will reply when I am back.</div>

--000000000000a1b2c3058e9f1234--
""")


def postfix_dsn(envelope_sender: str, original_id: str, recipient: str) -> bytes:
    """Postfix's bounce for 550 5.1.1 user unknown, sent to the tagged envelope sender after the relay took the
    email: RFC 3464 multipart/report with the returned headers."""
    return _crlf(f"""Return-Path: <>
Delivered-To: {envelope_sender}
Date: Mon, 13 May 2019 09:01:02 +0100 (BST)
From: MAILER-DAEMON@mx1.bscb.example.org (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {envelope_sender}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="4A1B2C3D4E.1557734462/mx1.bscb.example.org"
Content-Transfer-Encoding: 8bit
Message-Id: <20190513080102.5F6E7D8C9B@mx1.bscb.example.org>

This is a MIME-encapsulated message.

--4A1B2C3D4E.1557734462/mx1.bscb.example.org
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx1.bscb.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<{recipient}>: host mx.nps.example.org[192.0.2.25] said:
    550 5.1.1 <{recipient}>: Recipient address rejected:
    User unknown in virtual mailbox table (in reply to RCPT TO command)

--4A1B2C3D4E.1557734462/mx1.bscb.example.org
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx1.bscb.example.org
X-Postfix-Queue-ID: 4A1B2C3D4E
X-Postfix-Sender: rfc822; {envelope_sender}
Arrival-Date: Mon, 13 May 2019 09:01:01 +0100 (BST)

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.nps.example.org
Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected:
    User unknown in virtual mailbox table

--4A1B2C3D4E.1557734462/mx1.bscb.example.org
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers
Content-Transfer-Encoding: 8bit

Return-Path: <{envelope_sender}>
From: Annual report <annual-report@bscb.example.org>
To: {recipient}
Subject: Request: your contribution to the annual report
Message-ID: {original_id}
Auto-Submitted: auto-generated

--4A1B2C3D4E.1557734462/mx1.bscb.example.org--
""")


def forged_reply(reply_to: str, original_id: str) -> bytes:
    """A reply that has the email's tag and thread, from someone who is not a contact of that agency."""
    return _crlf(f"""From: "Gareth Millward" <gareth.millward@nps-example.net>
To: {reply_to}
Subject: RE: Reminder: your contribution to the annual report
Date: Tue, 14 May 2019 12:00:00 +0000
Message-ID: <forged-0001@nps-example.net>
In-Reply-To: {original_id}
Content-Type: text/plain; charset="us-ascii"
MIME-Version: 1.0

Please send all future reminders and links to this address instead.
""")


def unrelated(to: str) -> bytes:
    return _crlf(f"""From: Sales <news@vendor.example.com>
To: {to}
Subject: Our spring offers
Date: Tue, 14 May 2019 07:00:00 +0000
Message-ID: <spring-offers-2019@vendor.example.com>
Content-Type: text/plain; charset="us-ascii"
MIME-Version: 1.0

Save 20% on training this spring.
""")
