#!/usr/bin/env python3
"""Writes the edge-case feed fixtures under crates/fetcher/tests/fixtures/.

The fixtures are checked in; this script documents how each was made (some hold bytes that are
awkward to write by hand: UTF-16, windows-1252, BOMs, NUL bytes). Run it from anywhere."""
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
FIX = {}


def fx(name, text, encoding="utf-8"):
    FIX[name] = text.encode(encoding) if isinstance(text, str) else text


RSS_HEAD = '<?xml version="1.0" encoding="utf-8"?>\n'
NS = ('xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
      'xmlns:media="http://search.yahoo.com/mrss/" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
      'xmlns:atom="http://www.w3.org/2005/Atom"')


def rss(items, version='version="2.0"', ns=NS, channel="<title>Example News</title><link>https://example.com/</link>",
        head=RSS_HEAD):
    return f'{head}<rss {version} {ns}>\n<channel>{channel}\n{items}\n</channel>\n</rss>\n'


def item(title="Story one", link="https://example.com/news/1", guid="https://example.com/news/1",
         date="Tue, 14 Sep 2021 10:00:00 GMT", extra="", desc="Teaser one."):
    parts = [f"<title>{title}</title>" if title is not None else "",
             f"<link>{link}</link>" if link is not None else "",
             f"<guid>{guid}</guid>" if guid is not None else "",
             f"<pubDate>{date}</pubDate>" if date is not None else "",
             f"<description>{desc}</description>" if desc is not None else "", extra]
    return "<item>" + "".join(parts) + "</item>"


# ---- well-formed ----------------------------------------------------------------------------
fx("wf_rss2_basic.xml", rss(item() + item("Story two", "https://example.com/news/2", "https://example.com/news/2",
                                         "Wed, 15 Sep 2021 11:30:00 +0200", "<dc:creator>Jane Doe</dc:creator>")))
fx("wf_rss2_full.xml", rss(item(extra='<category>World</category><category>Europe</category>'
                                      '<content:encoded><![CDATA[<p>Full <b>text</b>.</p>]]></content:encoded>'
                                      '<dc:creator>Jane Doe</dc:creator>'
                                      '<media:content url="https://example.com/a.jpg" medium="image"/>')))
fx("wf_atom10.xml", '''<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom News</title><id>urn:uuid:feed</id>
<link rel="alternate" href="https://example.org/"/><link rel="self" href="https://example.org/feed.atom"/>
<updated>2024-01-02T10:00:00Z</updated>
<entry><title>Entry one</title><id>tag:example.org,2024:1</id>
<link rel="alternate" type="text/html" href="https://example.org/2024/01/one"/>
<link rel="enclosure" href="https://example.org/one.mp3"/>
<published>2024-01-02T09:00:00Z</published><updated>2024-01-02T10:00:00Z</updated>
<author><name>Ann Author</name><email>ann@example.org</email></author>
<category term="tech" label="Technology"/>
<summary>Summary one.</summary><content type="html">&lt;p&gt;Body &amp;amp; more&lt;/p&gt;</content></entry>
<entry><title type="html">Entry &lt;em&gt;two&lt;/em&gt;</title><id>tag:example.org,2024:2</id>
<link href="https://example.org/2024/01/two"/><updated>2024-01-03T10:00:00+01:00</updated>
<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>XHTML <b>body</b></p></div></content></entry>
</feed>
''')
fx("wf_rss091.xml", rss(item(guid=None) + item("Second", "https://example.com/news/2", None, None),
                        version='version="0.91"', ns=""))
fx("wf_rss092.xml", rss(item(guid=None), version='version="0.92"', ns=""))
fx("wf_rdf10.xml", '''<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://example.net/"><title>RDF News</title><link>https://example.net/</link>
<items><rdf:Seq><rdf:li resource="https://example.net/a"/></rdf:Seq></items></channel>
<item rdf:about="https://example.net/a"><title>RDF item A</title><link>https://example.net/a</link>
<description>About A.</description><dc:date>2021-09-14T10:00:00+00:00</dc:date><dc:creator>Rita Rdf</dc:creator></item>
<item rdf:about="https://example.net/b"><title>RDF item B</title><link>https://example.net/b</link>
<dc:date>2021-09-15T10:00:00Z</dc:date><dc:subject>Science</dc:subject></item>
</rdf:RDF>
''')
fx("wf_json11.json", '''{"version": "https://jsonfeed.org/version/1.1", "title": "JSON News",
"home_page_url": "https://example.com/", "feed_url": "https://example.com/feed.json",
"authors": [{"name": "Feed Owner"}],
"items": [{"id": "1", "url": "https://example.com/j/1", "title": "JSON one", "content_html": "<p>One.</p>",
  "summary": "Sum one", "date_published": "2024-03-01T12:00:00Z", "date_modified": "2024-03-02T12:00:00Z",
  "authors": [{"name": "Jay Son"}], "tags": ["a", "b"]},
 {"id": 2, "url": "/j/2", "title": "JSON two", "content_text": "Two."}]}
''')
fx("wf_rss2_podcast.xml", rss(item(extra="<itunes:author>Pod Caster</itunes:author>"
                                         "<enclosure url=\"https://example.com/ep1.mp3\" type=\"audio/mpeg\" length=\"1\"/>")))
fx("wf_youtube.xml", '''<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" xmlns:media="http://search.yahoo.com/mrss/" xmlns="http://www.w3.org/2005/Atom">
<link rel="self" href="http://www.youtube.com/feeds/videos.xml?channel_id=UC1"/><id>yt:channel:UC1</id><title>Chan</title>
<entry><id>yt:video:abc</id><yt:videoId>abc</yt:videoId><title>Video one</title>
<link rel="alternate" href="https://www.youtube.com/watch?v=abc"/><author><name>Chan</name><uri>https://www.youtube.com/channel/UC1</uri></author>
<published>2024-05-01T12:00:00+00:00</published><updated>2024-05-02T12:00:00+00:00</updated>
<media:group><media:title>Video one</media:title><media:content url="https://www.youtube.com/v/abc" type="application/x-shockwave-flash"/>
<media:description>What the video is about.</media:description></media:group></entry></feed>
''')

# ---- silently zero entries ------------------------------------------------------------------
fx("zero_atom03.xml", '''<?xml version="1.0" encoding="utf-8"?>
<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Old Atom</title>
<link rel="alternate" type="text/html" href="https://old.example.com/"/><modified>2004-01-02T10:00:00Z</modified>
<entry><title>Old entry</title><link rel="alternate" type="text/html" href="https://old.example.com/2004/1"/>
<id>tag:old.example.com,2004:1</id><issued>2004-01-02T09:00:00Z</issued><modified>2004-01-02T10:00:00Z</modified>
<author><name>Old Author</name></author><summary>Old summary.</summary>
<content type="text/html" mode="escaped">&lt;p&gt;Old body&lt;/p&gt;</content></entry>
<entry><title>Second old</title><link rel="alternate" type="text/html" href="https://old.example.com/2004/2"/>
<id>tag:old.example.com,2004:2</id><issued>2004-01-03T09:00:00Z</issued>
<content type="text/plain" mode="base64">QmFzZTY0IGJvZHk=</content></entry></feed>
''')
fx("zero_rss090.xml", '''<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://my.netscape.com/rdf/simple/0.9/">
<channel><title>Netscape 0.90</title><link>https://ns.example.com/</link><description>old</description></channel>
<item><title>First 0.90 item</title><link>https://ns.example.com/1</link></item>
<item><title>Second 0.90 item</title></item>
</rdf:RDF>
''')
fx("zero_rdf_nolink.xml", '''<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://r.example.com/"><title>No links</title><link>https://r.example.com/</link></channel>
<item rdf:about="urn:r:1"><title>Linkless one</title><description>One.</description><dc:date>2022-02-02T02:02:02Z</dc:date></item>
<item rdf:about="urn:r:2"><title>Linkless two</title></item>
</rdf:RDF>
''')
fx("zero_rdf_mixed.xml", '''<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="https://r.example.com/"><title>Some links</title><link>https://r.example.com/</link></channel>
<item rdf:about="https://r.example.com/1"><title>Linked</title><link>https://r.example.com/1</link></item>
<item rdf:about="https://r.example.com/2"><title>Not linked</title></item>
</rdf:RDF>
''')
fx("zero_rss2_default_xmlns.xml", rss(item(), ns='xmlns="http://backend.userland.com/rss2"'))
fx("zero_rss2_default_xmlns_unknown.xml", rss(item() + item("Two", "https://example.com/news/2", "g2"),
                                              ns='xmlns="http://example.com/made-up-ns" ' + NS))
fx("zero_rss2_purl_default.xml", rss(item(), ns='xmlns="http://purl.org/rss/1.0/"'))

# ---- hard errors on recoverable input --------------------------------------------------------
fx("err_rss_noversion.xml", rss(item(), version=""))
fx("err_rss_version_30.xml", rss(item(), version='version="3.0"'))
fx("err_rss_version_093.xml", rss(item(), version='version="0.93"'))
fx("err_rss_version_201.xml", rss(item(), version='version="2.01"'))
fx("err_utf16_declared_on_utf8.xml", rss(item("Café crème"), head='<?xml version="1.0" encoding="utf-16"?>\n'))
fx("err_cp1252_declared_utf8.xml", rss(item("Caf\u00e9 \u201cquoted\u201d cr\u00e8me", desc="Na\u00efve r\u00e9sum\u00e9 \u2013 ok"),
                                       head='<?xml version="1.0" encoding="utf-8"?>\n'), "cp1252")
fx("err_utf8_declared_cp1252.xml", rss(item("Café “quoted” crème"), head='<?xml version="1.0" encoding="windows-1252"?>\n'))
fx("err_latin1_declared.xml", rss(item("Caf\u00e9 cr\u00e8me"), head='<?xml version="1.0" encoding="ISO-8859-1"?>\n'), "latin-1")
fx("err_latin1_undeclared.xml", rss(item("Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e \u00e0 la fran\u00e7aise", desc="D\u00e9j\u00e0 vu, \u00e9t\u00e9"),
                                    head=''), "latin-1")
fx("err_atom_unknown_type.xml", '''<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title type="plain">Typed</title><id>urn:t</id>
<entry><title type="TEXT">Odd type</title><id>urn:t:1</id><link href="https://t.example.com/1"/>
<updated>2024-01-02T10:00:00Z</updated><summary type="markdown">*Markdown* summary</summary>
<content type="text/x-weird">Weird body</content></entry></feed>
''')
fx("err_cdata_unterminated.xml", rss(item(desc="<![CDATA[<p>Open CDATA never closed") +
                                     item("Story two", "https://example.com/news/2", "g2")))
fx("err_html_entities.xml", rss(item("Caf&eacute;&nbsp;society &mdash; &hellip; &copy; &rsquo;",
                                     desc="Hello&nbsp;world &lt;b&gt; &euro;5")))
fx("err_unescaped_amp.xml", rss(item("Tom & Jerry & Co", "https://example.com/news/1?a=1&b=2")))
fx("err_html_pre_escaped.html", '''<!DOCTYPE html><html><head><title>feed</title></head><body><pre>
&lt;?xml version="1.0" encoding="utf-8"?&gt;
&lt;rss version="2.0"&gt;&lt;channel&gt;&lt;title&gt;Shown feed&lt;/title&gt;&lt;link&gt;https://shown.example.com/&lt;/link&gt;
&lt;item&gt;&lt;title&gt;Shown &amp;amp; told&lt;/title&gt;&lt;link&gt;https://shown.example.com/1&lt;/link&gt;
&lt;guid&gt;https://shown.example.com/1&lt;/guid&gt;&lt;pubDate&gt;Tue, 14 Sep 2021 10:00:00 GMT&lt;/pubDate&gt;&lt;/item&gt;
&lt;/channel&gt;&lt;/rss&gt;
</pre></body></html>
''')
fx("err_html_highlighted.html", '''<html><body><div class="xml"><span class="tag">&lt;rss version="2.0"&gt;</span>
<span>&lt;channel&gt;&lt;title&gt;Highlighted&lt;/title&gt;</span>
<span>&lt;item&gt;&lt;title&gt;Colourful item&lt;/title&gt;&lt;link&gt;https://hl.example.com/1&lt;/link&gt;&lt;/item&gt;</span>
<span>&lt;/channel&gt;&lt;/rss&gt;</span></div></body></html>
''')
fx("err_html_inline_feed.html", '''<html><head><title>wrapped</title></head><body>
<rss version="2.0"><channel><title>Inline feed</title><item><title>Inline item</title>
<link>https://inline.example.com/1</link></item></channel></rss></body></html>
''')
fx("err_json_http_version.json", '''{"version": "http://jsonfeed.org/version/1", "title": "Old JSON",
"items": [{"id": "a", "url": "https://j.example.com/a", "title": "A", "content_text": "Body A",
"date_published": "2020-01-10T14:33:00Z", "author": {"name": "Old Author"}}]}''')
fx("err_json_no_title.json", '''{"version": "https://jsonfeed.org/version/1.1",
"items": [{"id": "n1", "url": "https://j.example.com/n1", "content_html": "<p>No feed title</p>"}]}''')
fx("err_json_tags_string.json", '''{"version": "https://jsonfeed.org/version/1.1", "title": "Tags",
"items": [{"id": "t1", "url": "https://j.example.com/t1", "title": "Tagged", "tags": "solo", "author": "Plain Name",
"date_published": "2020-01-10 14:33"}]}''')
fx("err_mismatched_tags.xml", rss(item(desc="Unclosed <b>bold and <i>italic</b>") + item("Two", "https://example.com/news/2", "g2")))
fx("err_unescaped_html_desc.xml", rss(item(desc="<p>Para one<br>line</p><p>Para two</p>") +
                                      item("Two", "https://example.com/news/2", "g2")))
fx("err_bom_utf8.xml", b"\xef\xbb\xbf" + rss(item("BOM \u00e9t\u00e9")).encode())
fx("err_bom_utf16le.xml", b"\xff\xfe" + rss(item("UTF-16 \u00e9t\u00e9"), head='<?xml version="1.0" encoding="utf-16"?>\n').encode("utf-16-le"))
fx("err_nul_bytes.xml", rss(item("Nul\x00 byte")).encode())
fx("err_undeclared_prefix.xml", rss(item(extra="<dc:creator>Undeclared Prefix</dc:creator>"
                                             "<content:encoded>&lt;p&gt;Body&lt;/p&gt;</content:encoded>"), ns=""))
fx("err_truncated.xml", rss(item() + item("Two", "https://example.com/news/2", "g2")).split("</channel>")[0][:-40])
fx("err_less_than_in_text.xml", rss(item("1 < 2 and 3 > 2")))
fx("err_leading_junk.xml", "\n\n   \n" + rss(item()))
fx("err_doctype_netscape.xml", rss(item(), head='<?xml version="1.0"?>\n<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
                                                '"http://my.netscape.com/publish/formats/rss-0.91.dtd">\n', version='version="0.91"', ns=""))

# ---- authors --------------------------------------------------------------------------------
fx("au_rss_email_name.xml", rss(item(extra="<author>jane@example.com (Jane Doe)</author>")))
fx("au_rss_name_angle.xml", rss(item(extra="<author>John Roe &lt;john@example.com&gt;</author>")))
fx("au_rss_bare_name.xml", rss(item(extra="<author>Bare Name</author>")))
fx("au_rss_bare_email.xml", rss(item(extra="<author>only@example.com</author>")))
fx("au_dc_creator_slash.xml", rss(item(extra="<dc:creator>Slash Creator</dc:creator>")))
fx("au_dc_creator_noslash.xml", rss(item(extra="<dc:creator>Noslash Creator</dc:creator>"),
                                    ns='xmlns:dc="http://purl.org/dc/elements/1.1"'))
fx("au_itunes_item.xml", rss(item(extra="<itunes:author>Item Voice</itunes:author>"),
                             channel="<title>Pod</title><link>https://pod.example.com/</link><itunes:author>Channel Voice</itunes:author>"))
fx("au_atom_no_name.xml", '''<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Persons</title><id>urn:p</id><author><name>Feed Person</name></author>
<entry><title>Nameless</title><id>urn:p:1</id><link href="https://p.example.com/1"/><updated>2024-01-02T10:00:00Z</updated>
<author><email>nameless@example.com</email><uri>https://p.example.com/me</uri></author></entry>
<entry><title>Two authors</title><id>urn:p:2</id><link href="https://p.example.com/2"/><updated>2024-01-02T10:00:00Z</updated>
<author><name>First Person</name></author><author><name>Second Person</name></author></entry></feed>
''')
fx("au_channel_not_copied.xml", rss(item(), channel="<title>T</title><link>https://example.com/</link>"
                                                   "<managingEditor>editor@example.com (The Editor)</managingEditor>"
                                                   "<dc:creator>Channel Creator</dc:creator>"))

# ---- ids --------------------------------------------------------------------------------------
fx("id_rdf_about.xml", FIX["zero_rdf_nolink.xml"].decode().replace("No links", "About ids"))
fx("id_missing.xml", rss(item(guid=None, link=None, title="No id no link", date="Tue, 14 Sep 2021 10:00:00 GMT")))
fx("id_guid_numeric.xml", rss(item(guid="12345", link="https://example.com/news/12345")))

# ---- links ------------------------------------------------------------------------------------
fx("ln_guid_permalink.xml", rss(item(link=None, guid="https://example.com/perma/1") +
                                 item("Two", None, None, extra='<guid isPermaLink="true">https://example.com/perma/2</guid>')))
fx("ln_guid_not_permalink.xml", rss(item(link=None, guid=None, extra='<guid isPermaLink="false">https://example.com/not/1</guid>')))
fx("ln_xml_base.xml", '''<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://base.example.com/blog/"><title>Based</title><id>urn:b</id>
<link href="/"/>
<entry><title>Relative</title><id>urn:b:1</id><link href="posts/1"/><updated>2024-01-02T10:00:00Z</updated></entry>
<entry xml:base="https://other.example.com/x/"><title>Rebased</title><id>urn:b:2</id><link href="../y/2"/><updated>2024-01-02T10:00:00Z</updated></entry>
</feed>
''')
fx("ln_relative_self.xml", rss(item(link="/news/rel-1", guid="rel-1"), channel='<title>Rel</title><link>https://rel.example.com/</link>'
                                '<atom:link rel="self" href="https://rel.example.com/feed.xml"/>'))
fx("ln_bare_host.xml", rss(item(link="https://example.com", guid="bare-host") +
                           item("Two", "HTTPS://Example.COM/Path/../Two?x=1&amp;y=2", "g2")))
fx("ln_iri.xml", rss(item(link="https://例え.example/記事/1", guid="iri-1")))
fx("ln_atom_href_in_rss.xml", rss(item(link=None, guid="hr-1", extra='<atom:link rel="alternate" href="https://example.com/via-atom"/>')))

# ---- dates ------------------------------------------------------------------------------------
for name, date in [("dt_iso_no_seconds", "2020-01-10T14:33Z"), ("dt_iso_no_tz", "2020-01-10T14:33:00"),
                   ("dt_slash", "2020/1/10 14:33:00"), ("dt_rfc822_no_comma", "Fri 10 Jan 2020 14:33:00 GMT"),
                   ("dt_single_digit", "Fri, 3 Jan 2020 4:05:06 GMT"), ("dt_ampm", "January 10, 2020 2:33 PM"),
                   ("dt_bad_tz", "Fri, 10 Jan 2020 14:33:00 XYZ"), ("dt_missing_tz", "Fri, 10 Jan 2020 14:33:00"),
                   ("dt_fr", "ven., 10 janv. 2020 14:33:00 +0100"), ("dt_de", "Fr, 10 Okt 2020 14:33:00 +0200"),
                   ("dt_es", "vie, 10 ene 2020 14:33:00 GMT"), ("dt_it", "ven, 10 gen 2020 14:33:00 GMT"),
                   ("dt_pt", "sex, 10 fev 2020 14:33:00 GMT"), ("dt_nl", "vr, 10 mrt 2020 14:33:00 GMT"),
                   ("dt_two_digit_year", "Fri, 10 Jan 20 14:33:00 +0000"), ("dt_edt", "Fri, 10 Jan 2020 09:33:00 EST")]:
    fx(name + ".xml", rss(item(date=date)))
fx("dt_dcterms.xml", rss(item(date=None, extra="<dcterms:issued>2020-01-10T14:33:00Z</dcterms:issued>"
                                               "<dcterms:modified>2020-01-11T08:00:00Z</dcterms:modified>"),
                         ns=NS + ' xmlns:dcterms="http://purl.org/dc/terms/"'))
fx("dt_dc_date.xml", rss(item(date=None, extra="<dc:date>2020-01-10T14:33:00+01:00</dc:date>")))

# ---- content ----------------------------------------------------------------------------------
fx("ct_media_description.xml", rss(item(desc=None, extra='<media:group><media:description>Media words.</media:description></media:group>')))
fx("ct_mojibake.xml", rss(item("CafÃ© â€œdouble-encodedâ€\u009d", desc="itâ€™s rÃ©sumÃ©")))
fx("ct_title_markup.xml", rss(item("&lt;b&gt;Bold&lt;/b&gt; &amp;amp; entity &#8217;s")))
fx("ct_content_only.xml", rss(item(desc=None, extra="<content:encoded><![CDATA[<p>Only content.</p>]]></content:encoded>")))

# ---- safety -----------------------------------------------------------------------------------
lol = '<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY lol "lol">\n'
for i in range(1, 10):
    lol += f'<!ENTITY lol{i} "' + f"&lol{i-1 if i > 1 else ''};" * 10 + '">\n'
lol = lol.replace("&lol0;", "&lol;")
lol += ']>\n<rss version="2.0"><channel><title>Laughs</title><item><title>&lol9;</title><link>https://lol.example.com/1</link></item></channel></rss>\n'
fx("sf_billion_laughs.xml", lol)
fx("sf_external_entity.xml", '<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
                             '<rss version="2.0"><channel><title>XXE</title><item><title>Secret: &xxe;</title>'
                             '<link>https://xxe.example.com/1</link></item></channel></rss>\n')
fx("sf_not_a_feed.html", "<!DOCTYPE html><html><head><title>Home</title>"
                         '<link rel="alternate" type="application/rss+xml" href="/feed.xml"></head><body>Hi</body></html>')

os.makedirs(OUT, exist_ok=True)
for name, data in FIX.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print(len(FIX), "fixtures")
