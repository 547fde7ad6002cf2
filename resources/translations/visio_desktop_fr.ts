<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="fr" sourcelanguage="en">
<context>
    <name>Banner</name>
    <message>
        <location filename="../../client/ui/call_page.py" line="64"/>
        <source>Connection status</source>
        <translation>État de la connexion</translation>
    </message>
</context>
<context>
    <name>CallPage</name>
    <message>
        <location filename="../../client/ui/call_page.py" line="46"/>
        <source>Turn the microphone on or off</source>
        <translation>Activer ou désactiver le micro</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="47"/>
        <source>Turn the camera on or off</source>
        <translation>Activer ou désactiver la caméra</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="48"/>
        <source>Show or hide captions</source>
        <translation>Afficher ou masquer les sous-titres</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="49"/>
        <source>Raise or lower your hand</source>
        <translation>Lever ou baisser la main</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="51"/>
        <source>Space</source>
        <translation>Espace</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="52"/>
        <source>Hold to talk while the microphone is off</source>
        <translation>Maintenir enfoncée pour parler quand le micro est coupé</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="54"/>
        <source>List the shortcuts</source>
        <translation>Afficher les raccourcis</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="245"/>
        <source>Connection lost — reconnecting…</source>
        <translation>Connexion perdue — reconnexion…</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="251"/>
        <source>The microphone could not be changed. Try again.</source>
        <translation>Le micro n’a pas pu être modifié. Réessayez.</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="252"/>
        <source>The camera could not be changed. Try again.</source>
        <translation>La caméra n’a pas pu être modifiée. Réessayez.</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="253"/>
        <source>Your hand could not be raised or lowered on this server.</source>
        <translation>Ce serveur ne permet pas de lever ou de baisser la main.</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="254"/>
        <source>Your message could not be sent. Check the connection.</source>
        <translation>Votre message n’a pas pu être envoyé. Vérifiez la connexion.</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="255"/>
        <source>The reaction could not be sent.</source>
        <translation>La réaction n’a pas pu être envoyée.</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="256"/>
        <source>The screen could not be shared. Try again.</source>
        <translation>L’écran n’a pas pu être partagé. Réessayez.</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="294"/>
        <source>What to share</source>
        <translation>Que partager</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="297"/>
        <source>Entire screen (%1)</source>
        <translation>Tout l’écran (%1)</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="299"/>
        <source>Window: %1</source>
        <translation>Fenêtre : %1</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="303"/>
        <source>Nothing to share was found</source>
        <translation>Rien à partager n’a été trouvé</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="311"/>
        <source>The shared window was closed: sharing stopped.</source>
        <translation>La fenêtre partagée a été fermée : le partage s’est arrêté.</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="332"/>
        <source>You are speaking with your microphone off.</source>
        <translation>Vous parlez avec le micro coupé.</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="366"/>
        <source>Keyboard shortcuts</source>
        <translation>Raccourcis clavier</translation>
    </message>
</context>
<context>
    <name>CaptionsHistoryPanel</name>
    <message>
        <location filename="../../client/ui/captions_history.py" line="331"/>
        <location filename="../../client/ui/captions_history.py" line="340"/>
        <source>Captions history</source>
        <extracomment>The row width the stored heights were computed for (0: never shown yet). Rows [0, _unwrapped) still have no height for that width.</extracomment>
        <translation>Historique des sous-titres</translation>
    </message>
    <message>
        <location filename="../../client/ui/captions_history.py" line="343"/>
        <location filename="../../client/ui/captions_history.py" line="344"/>
        <source>Search the captions</source>
        <translation>Rechercher dans les sous-titres</translation>
    </message>
    <message>
        <location filename="../../client/ui/captions_history.py" line="353"/>
        <source>Transcript</source>
        <translation>Transcription</translation>
    </message>
    <message>
        <location filename="../../client/ui/captions_history.py" line="366"/>
        <source>Export .vtt</source>
        <translation>Exporter en .vtt</translation>
    </message>
    <message>
        <location filename="../../client/ui/captions_history.py" line="367"/>
        <source>Save the captions as WebVTT subtitles</source>
        <translation>Enregistrer les sous-titres au format WebVTT</translation>
    </message>
    <message>
        <location filename="../../client/ui/captions_history.py" line="368"/>
        <source>Export .txt</source>
        <translation>Exporter en .txt</translation>
    </message>
    <message>
        <location filename="../../client/ui/captions_history.py" line="369"/>
        <source>Save the captions as a text file</source>
        <translation>Enregistrer les sous-titres dans un fichier texte</translation>
    </message>
    <message>
        <location filename="../../client/ui/captions_history.py" line="521"/>
        <source>No captions yet. They appear here as people speak.</source>
        <translation>Aucun sous-titre pour l’instant. Ils apparaissent ici à mesure que les participants parlent.</translation>
    </message>
    <message>
        <location filename="../../client/ui/captions_history.py" line="523"/>
        <source>No caption matches this search.</source>
        <translation>Aucun sous-titre ne correspond à cette recherche.</translation>
    </message>
    <message>
        <location filename="../../client/ui/captions_history.py" line="544"/>
        <source>Export the captions</source>
        <translation>Exporter les sous-titres</translation>
    </message>
    <message>
        <location filename="../../client/ui/captions_history.py" line="551"/>
        <source>WebVTT subtitles (*.vtt)</source>
        <translation>Sous-titres WebVTT (*.vtt)</translation>
    </message>
    <message>
        <location filename="../../client/ui/captions_history.py" line="553"/>
        <source>Text files (*.txt)</source>
        <translation>Fichiers texte (*.txt)</translation>
    </message>
    <message>
        <location filename="../../client/ui/captions_history.py" line="571"/>
        <source>Export failed</source>
        <translation>Échec de l’exportation</translation>
    </message>
    <message>
        <location filename="../../client/ui/captions_history.py" line="574"/>
        <source>The captions could not be saved to {path}: {error}</source>
        <translation>Impossible d’enregistrer les sous-titres dans {path}&#xa0;: {error}</translation>
    </message>
</context>
<context>
    <name>CaptionsOverlay</name>
    <message>
        <location filename="../../client/ui/captions_overlay.py" line="269"/>
        <source>Captions</source>
        <extracomment>Font pixel size per caption size for a window 1080 px high (scaled with the window&apos;s height), and the smallest it gets in a small window. XL gives a ~56 px line at 1080p: the size TV subtitle guidelines give for reading from 3 m. Rows of text shown at most; older rows scroll away. Captions never cover more than this share of the stage&apos;s height. A text row holds at most about this many average characters (subtitle guidelines keep rows near 40 characters: longer ones are hard to follow while listening). Captions vanish after this long without any update. Segments kept for display: enough for the last lines, however they interleave. Below this background opacity the text gets a shadow to stay readable over video. What the text stands on: the overlay&apos;s black box, or dark video when it is faint. The speaker&apos;s CSS colour by identity (the call model&apos;s participant colour). How many times the captions were laid out and drawn (tests check it stays low).</extracomment>
        <translation>Sous-titres</translation>
    </message>
    <message>
        <location filename="../../client/ui/captions_overlay.py" line="478"/>
        <source>…</source>
        <translation>…</translation>
    </message>
    <message>
        <location filename="../../client/ui/captions_overlay.py" line="488"/>
        <location filename="../../client/ui/captions_overlay.py" line="506"/>
        <source>{name}: </source>
        <translation>{name}&#xa0;: </translation>
    </message>
</context>
<context>
    <name>ChatDelegate</name>
    <message>
        <location filename="../../client/ui/chat_panel.py" line="589"/>
        <source>… message shortened: right-click to copy all of it</source>
        <extracomment>Characters of a message laid out; the rest is reachable by copying. Wrapped lines drawn per message, so that no row is taller than a few screens. Longest run of text given to one QTextLayout (see ``_pieces``). A name is one short line, whatever a peer put in its display name. Links underlined per message: beyond this a message is a link dump, not chat. Consecutive messages of one sender within this delay share one header. Lines of the input box before it scrolls instead of growing. Same sender as the row above, shortly after: drawn without a header.</extracomment>
        <translation>… message abrégé&#xa0;: clic droit pour le copier en entier</translation>
    </message>
</context>
<context>
    <name>ChatPanel</name>
    <message>
        <location filename="../../client/ui/chat_panel.py" line="833"/>
        <source>Chat messages</source>
        <extracomment>Messages from others not yet seen (panel hidden or window in background). How links are opened; replaceable so tests never start a browser.</extracomment>
        <translation>Messages du chat</translation>
    </message>
    <message>
        <location filename="../../client/ui/chat_panel.py" line="836"/>
        <source>Message</source>
        <translation>Message</translation>
    </message>
    <message>
        <location filename="../../client/ui/chat_panel.py" line="837"/>
        <source>Write a message…</source>
        <translation>Écrire un message…</translation>
    </message>
    <message>
        <location filename="../../client/ui/chat_panel.py" line="840"/>
        <source>Send</source>
        <translation>Envoyer</translation>
    </message>
    <message>
        <location filename="../../client/ui/chat_panel.py" line="841"/>
        <source>Send message</source>
        <translation>Envoyer le message</translation>
    </message>
    <message>
        <location filename="../../client/ui/chat_panel.py" line="842"/>
        <source>Send message (Enter)</source>
        <translation>Envoyer le message (Entrée)</translation>
    </message>
    <message>
        <location filename="../../client/ui/chat_panel.py" line="901"/>
        <source>You</source>
        <translation>Vous</translation>
    </message>
    <message>
        <location filename="../../client/ui/chat_panel.py" line="905"/>
        <source>Unknown participant</source>
        <translation>Participant inconnu</translation>
    </message>
</context>
<context>
    <name>ControlButton</name>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="62"/>
        <source>on</source>
        <translation>activé</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="62"/>
        <source>off</source>
        <translation>désactivé</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="66"/>
        <source>%1 (%2) — shortcut %3</source>
        <translation>%1 (%2) — raccourci %3</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="69"/>
        <source>%1 (%2)</source>
        <translation>%1 (%2)</translation>
    </message>
</context>
<context>
    <name>ControlsBar</name>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="93"/>
        <source>Call controls</source>
        <extracomment>A device picked from a button&apos;s menu: (&quot;microphone&quot; | &quot;speaker&quot; | &quot;camera&quot;, id).</extracomment>
        <translation>Commandes de l’appel</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="97"/>
        <location filename="../../client/ui/controls_bar.py" line="180"/>
        <source>Microphone</source>
        <translation>Micro</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="98"/>
        <location filename="../../client/ui/controls_bar.py" line="203"/>
        <source>Camera</source>
        <translation>Caméra</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="99"/>
        <source>Share screen</source>
        <translation>Partager l’écran</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="101"/>
        <source>Captions</source>
        <translation>Sous-titres</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="102"/>
        <source>Raise hand</source>
        <translation>Lever la main</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="103"/>
        <source>Reactions</source>
        <translation>Réactions</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="113"/>
        <location filename="../../client/ui/controls_bar.py" line="221"/>
        <source>Chat</source>
        <translation>Chat</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="115"/>
        <source>Participants</source>
        <translation>Participants</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="118"/>
        <source>Speaker view</source>
        <translation>Vue intervenant</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="121"/>
        <source>Transcript</source>
        <translation>Transcription</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="123"/>
        <source>Settings</source>
        <translation>Paramètres</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="124"/>
        <source>Leave</source>
        <translation>Quitter</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="127"/>
        <source>Leave the call</source>
        <translation>Quitter l’appel</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="181"/>
        <source>Speaker</source>
        <translation>Haut-parleur</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="185"/>
        <source>System default</source>
        <translation>Par défaut du système</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="215"/>
        <source>No camera found</source>
        <translation>Aucune caméra trouvée</translation>
    </message>
    <message numerus="yes">
        <location filename="../../client/ui/controls_bar.py" line="223"/>
        <source>Chat, %n unread message(s)</source>
        <translation>
            <numerusform>Chat, %n message non lu</numerusform>
            <numerusform>Chat, %n messages non lus</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>HomePage</name>
    <message>
        <location filename="../../client/ui/home_page.py" line="42"/>
        <source>Join a meeting</source>
        <extracomment>(link, display name): the user asked to join.</extracomment>
        <translation>Rejoindre une réunion</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="48"/>
        <source>Meeting link (wss://… with its token)</source>
        <translation>Lien de la réunion (wss://… avec son jeton)</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="49"/>
        <source>Meeting link</source>
        <translation>Lien de la réunion</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="52"/>
        <source>Access token, if not in the link</source>
        <translation>Jeton d’accès, s’il n’est pas dans le lien</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="53"/>
        <source>Access token</source>
        <translation>Jeton d’accès</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="56"/>
        <source>Your name as others will see it</source>
        <translation>Votre nom, tel que les autres le verront</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="57"/>
        <source>Your name</source>
        <translation>Votre nom</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="59"/>
        <source>Link</source>
        <translation>Lien</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="60"/>
        <source>Token</source>
        <translation>Jeton</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="61"/>
        <source>Name</source>
        <translation>Nom</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="70"/>
        <source>Settings</source>
        <translation>Paramètres</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="71"/>
        <source>Continue</source>
        <translation>Continuer</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="78"/>
        <location filename="../../client/ui/home_page.py" line="81"/>
        <source>Recent meetings</source>
        <translation>Réunions récentes</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="104"/>
        <source>No recent meeting yet</source>
        <translation>Aucune réunion récente pour l’instant</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="127"/>
        <source>Enter your name: it is how others will see you.</source>
        <translation>Saisissez votre nom&#xa0;: c’est ainsi que les autres vous verront.</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../client/ui/main_window.py" line="52"/>
        <location filename="../../client/ui/main_window.py" line="279"/>
        <source>Visio</source>
        <translation>Visio</translation>
    </message>
    <message>
        <location filename="../../client/ui/main_window.py" line="264"/>
        <source>Visio — %1</source>
        <extracomment>The devices the core found last (for the settings dialog).</extracomment>
        <translation>Visio — %1</translation>
    </message>
    <message>
        <location filename="../../client/ui/main_window.py" line="356"/>
        <source>Leave the call?</source>
        <translation>Quitter l’appel&#x202f;?</translation>
    </message>
    <message>
        <location filename="../../client/ui/main_window.py" line="357"/>
        <source>You are in a call. Closing the window will leave it.</source>
        <translation>Vous êtes en cours d’appel. Fermer la fenêtre vous fera quitter l’appel.</translation>
    </message>
</context>
<context>
    <name>MessageView</name>
    <message>
        <location filename="../../client/ui/chat_panel.py" line="747"/>
        <source>Copy link</source>
        <translation>Copier le lien</translation>
    </message>
    <message>
        <location filename="../../client/ui/chat_panel.py" line="749"/>
        <source>Copy message</source>
        <translation>Copier le message</translation>
    </message>
    <message>
        <location filename="../../client/ui/chat_panel.py" line="761"/>
        <source>No messages yet.
Messages are seen by everyone in the call.</source>
        <translation>Aucun message pour l’instant.
Les messages sont visibles par tous les participants à l’appel.</translation>
    </message>
</context>
<context>
    <name>Messages</name>
    <message>
        <location filename="../../client/ui/messages.py" line="15"/>
        <source>This address is not secure (ws:// or http://) and the server is not on this computer or a private network. Ask for a wss:// or https:// link.</source>
        <translation>Cette adresse n’est pas sécurisée (ws:// ou http://) et le serveur n’est ni sur cet ordinateur ni sur un réseau privé. Demandez un lien en wss:// ou https://.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="23"/>
        <source>The access token in this link is damaged. Copy the whole link again.</source>
        <translation>Le jeton d’accès de ce lien est endommagé. Copiez à nouveau le lien en entier.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="27"/>
        <source>This link has no access token. Paste the whole link, or the token below.</source>
        <translation>Ce lien ne contient pas de jeton d’accès. Collez le lien en entier, ou le jeton ci-dessous.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="32"/>
        <source>Paste the link of the meeting you were invited to.</source>
        <translation>Collez le lien d’invitation à la réunion.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="35"/>
        <source>This is not a meeting link. Check that you copied it whole.</source>
        <translation>Ce n’est pas un lien de réunion. Vérifiez que vous l’avez copié en entier.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="44"/>
        <source>You were removed from the meeting.</source>
        <translation>Vous avez été retiré de la réunion.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="46"/>
        <source>The meeting has ended.</source>
        <translation>La réunion est terminée.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="48"/>
        <source>You joined this meeting from another device, so this one left it.</source>
        <translation>Vous avez rejoint cette réunion depuis un autre appareil&#xa0;: celui-ci l’a donc quittée.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="51"/>
        <source>The server ended your session.</source>
        <translation>Le serveur a mis fin à votre session.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="58"/>
        <source>This invitation has expired. Ask the organiser for a new link.</source>
        <translation>Cette invitation a expiré. Demandez un nouveau lien à l’organisateur.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="62"/>
        <source>This invitation is not valid for this server. Ask for a new link.</source>
        <translation>Cette invitation n’est pas valable pour ce serveur. Demandez un nouveau lien.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="66"/>
        <source>You are not allowed to join this meeting.</source>
        <translation>Vous n’êtes pas autorisé à rejoindre cette réunion.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="70"/>
        <source>The meeting is full. Try again later.</source>
        <translation>La réunion est complète. Réessayez plus tard.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="72"/>
        <source>No meeting server answers at this address. Check the link.</source>
        <translation>Aucun serveur de réunion ne répond à cette adresse. Vérifiez le lien.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="78"/>
        <source>The proxy of your network cannot be reached or refused the connection to the meeting server. Check the proxy settings or contact your IT support.</source>
        <translation>Le proxy de votre réseau est injoignable ou a refusé la connexion au serveur de réunion. Vérifiez les paramètres du proxy ou contactez votre support informatique.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="84"/>
        <source>The meeting server cannot be reached. Check your network connection; the app will keep the link so you can try again.</source>
        <translation>Le serveur de réunion est injoignable. Vérifiez votre connexion réseau&#x202f;; l’application garde le lien pour que vous puissiez réessayer.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="90"/>
        <source>This network blocks the traffic audio and video use (UDP), and the relay through an encrypted web connection did not get through either. Try another network, or ask your IT support to allow UDP or TURN over TLS.</source>
        <translation>Ce réseau bloque le trafic qu’utilisent le son et la vidéo (UDP), et le relais par une connexion web chiffrée n’a pas abouti non plus. Essayez un autre réseau, ou demandez à votre support informatique d’autoriser UDP ou TURN sur TLS.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="97"/>
        <source>Connected, but audio and video cannot get through this network (a firewall may block them). Try another network or contact your IT support.</source>
        <translation>Connexion établie, mais le son et la vidéo ne passent pas sur ce réseau (un pare-feu les bloque peut-être). Essayez un autre réseau ou contactez votre support informatique.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="106"/>
        <source>Something went wrong (%1). Try again.</source>
        <translation>Une erreur s’est produite (%1). Réessayez.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="114"/>
        <source>The security certificate of the meeting server is not recognised by this computer. If your organisation uses its own certificate authority, ask your IT support to install it.</source>
        <translation>Le certificat de sécurité du serveur de réunion n’est pas reconnu par cet ordinateur. Si votre organisation utilise sa propre autorité de certification, demandez à votre support informatique de l’installer.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="121"/>
        <source>The meeting server presented a certificate made for another address: the connection may be intercepted. Check the link or contact your IT support.</source>
        <translation>Le serveur de réunion a présenté un certificat établi pour une autre adresse&#xa0;: la connexion est peut-être interceptée. Vérifiez le lien ou contactez votre support informatique.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="127"/>
        <source>The security certificate of the meeting server has expired or is not valid yet. Check this computer&apos;s date and time, or tell the server&apos;s administrator.</source>
        <translation>Le certificat de sécurité du serveur de réunion a expiré ou n’est pas encore valide. Vérifiez la date et l’heure de cet ordinateur, ou prévenez l’administrateur du serveur.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="133"/>
        <source>The security certificate of the meeting server has been revoked. Tell the server&apos;s administrator.</source>
        <translation>Le certificat de sécurité du serveur de réunion a été révoqué. Prévenez l’administrateur du serveur.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="139"/>
        <source>The additional certificate authority file set for this app cannot be read. Check the file or contact your IT support.</source>
        <translation>Le fichier d’autorité de certification supplémentaire configuré pour cette application est illisible. Vérifiez le fichier ou contactez votre support informatique.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="144"/>
        <source>A secure connection to the meeting server could not be established. Contact your IT support.</source>
        <translation>Impossible d’établir une connexion sécurisée avec le serveur de réunion. Contactez votre support informatique.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="155"/>
        <source>camera</source>
        <translation>caméra</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="156"/>
        <source>microphone</source>
        <translation>micro</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="157"/>
        <source>speaker</source>
        <translation>haut-parleur</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="158"/>
        <source>screen</source>
        <translation>écran</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="162"/>
        <source>%1 was disconnected: now using %2.</source>
        <translation>%1 : appareil débranché, %2 prend le relais.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="165"/>
        <source>%1 was disconnected, and nothing can replace it.</source>
        <translation>%1 : appareil débranché, aucun autre n’est disponible.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="171"/>
        <source>%1 may not be used: allow it in the system&apos;s privacy settings.</source>
        <translation>%1 n’est pas autorisé(e) : autorisez-le dans les réglages de confidentialité du système.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="176"/>
        <source>%1 not found: the call goes on without it.</source>
        <translation>%1 introuvable : l’appel continue sans.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="179"/>
        <source>Screen sharing is not available on this desktop (Wayland, or no X display).</source>
        <translation>Le partage d’écran n’est pas disponible sur ce bureau (Wayland, ou pas d’affichage X).</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="168"/>
        <source>%1 is used by another application. Close it, then try again.</source>
        <translation>Une autre application utilise %1. Fermez-la, puis réessayez.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="183"/>
        <source>%1 could not be opened: the one in use is kept.</source>
        <translation>Impossible d’ouvrir %1 : l’appareil actuel est conservé.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="193"/>
        <source>You are speaking with your microphone off. Press M to turn it on.</source>
        <translation>Vous parlez avec le micro coupé. Appuyez sur M pour l’activer.</translation>
    </message>
</context>
<context>
    <name>ParticipantDelegate</name>
    <message>
        <location filename="../../client/ui/participants_panel.py" line="316"/>
        <source>(you)</source>
        <translation>(vous)</translation>
    </message>
</context>
<context>
    <name>ParticipantListModel</name>
    <message numerus="yes">
        <location filename="../../client/ui/participants_panel.py" line="117"/>
        <source>Raised hands (%n)</source>
        <extracomment>Icon tints, chosen to read on light and dark themes alike. Place in the raised-hands queue, from 1; 0 when the hand is down.</extracomment>
        <translation>
            <numerusform>Mains levées (%n)</numerusform>
            <numerusform>Mains levées (%n)</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../../client/ui/participants_panel.py" line="119"/>
        <source>In the call (%n)</source>
        <translation>
            <numerusform>Dans l’appel (%n)</numerusform>
            <numerusform>Dans l’appel (%n)</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../client/ui/participants_panel.py" line="150"/>
        <source>microphone off</source>
        <translation>micro coupé</translation>
    </message>
    <message>
        <location filename="../../client/ui/participants_panel.py" line="152"/>
        <source>camera off</source>
        <translation>caméra coupée</translation>
    </message>
    <message numerus="yes">
        <location filename="../../client/ui/participants_panel.py" line="154"/>
        <source>hand raised, number %n in the queue</source>
        <translation>
            <numerusform>main levée, n°&#xa0;%n dans la file d’attente</numerusform>
            <numerusform>main levée, n°&#xa0;%n dans la file d’attente</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../client/ui/participants_panel.py" line="156"/>
        <source>speaking</source>
        <translation>en train de parler</translation>
    </message>
    <message>
        <location filename="../../client/ui/participants_panel.py" line="176"/>
        <source>(you)</source>
        <translation>(vous)</translation>
    </message>
    <message numerus="yes">
        <location filename="../../client/ui/participants_panel.py" line="186"/>
        <source>%n: {name}, hand raised</source>
        <translation>
            <numerusform>%n&#xa0;: {name}, main levée</numerusform>
            <numerusform>%n&#xa0;: {name}, main levée</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>ParticipantsPanel</name>
    <message>
        <location filename="../../client/ui/participants_panel.py" line="371"/>
        <source>Participants</source>
        <translation>Participants</translation>
    </message>
    <message numerus="yes">
        <location filename="../../client/ui/participants_panel.py" line="396"/>
        <source>Participants (%n)</source>
        <translation>
            <numerusform>Participants (%n)</numerusform>
            <numerusform>Participants (%n)</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>PrejoinPage</name>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="71"/>
        <source>Camera preview</source>
        <extracomment>(camera on, microphone on, display name) A device was chosen: (&quot;microphone&quot; | &quot;speaker&quot; | &quot;camera&quot;, id; &quot;&quot; = the default). The camera switch: open the device for the preview, or release it. Whether a camera is plugged in (None: not known yet).</extracomment>
        <translation>Aperçu de la caméra</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="84"/>
        <source>Ready to join?</source>
        <translation>Rejoindre la réunion&#x202f;?</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="93"/>
        <source>Your name</source>
        <translation>Votre nom</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="96"/>
        <location filename="../../client/ui/prejoin_page.py" line="125"/>
        <location filename="../../client/ui/prejoin_page.py" line="144"/>
        <source>Camera</source>
        <translation>Caméra</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="98"/>
        <source>Looking for cameras…</source>
        <translation>Recherche des caméras…</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="105"/>
        <source>Test pattern (test media)</source>
        <translation>Mire (médias de test)</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="107"/>
        <location filename="../../client/ui/prejoin_page.py" line="126"/>
        <location filename="../../client/ui/prejoin_page.py" line="143"/>
        <source>Microphone</source>
        <translation>Micro</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="109"/>
        <location filename="../../client/ui/prejoin_page.py" line="127"/>
        <source>Speaker</source>
        <translation>Haut-parleur</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="111"/>
        <source>Silence (test media)</source>
        <translation>Silence (médias de test)</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="112"/>
        <source>Nothing is played (test media)</source>
        <translation>Aucun son joué (médias de test)</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="115"/>
        <location filename="../../client/ui/prejoin_page.py" line="237"/>
        <source>System default</source>
        <translation>Par défaut du système</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="124"/>
        <source>Name</source>
        <translation>Nom</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="132"/>
        <source>Microphone level</source>
        <translation>Niveau du micro</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="155"/>
        <source>Back</source>
        <translation>Retour</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="156"/>
        <source>Join now</source>
        <translation>Rejoindre</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="174"/>
        <source>Meeting on %1</source>
        <translation>Réunion sur %1</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="222"/>
        <source>No camera found</source>
        <translation>Aucune caméra trouvée</translation>
    </message>
</context>
<context>
    <name>Reactions</name>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="22"/>
        <source>Thumbs up</source>
        <extracomment>What each reaction is called, for the menu and screen readers.</extracomment>
        <translation>Pouce levé</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="23"/>
        <source>Thumbs down</source>
        <translation>Pouce baissé</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="24"/>
        <source>Applause</source>
        <translation>Applaudissements</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="25"/>
        <source>Heart</source>
        <translation>Cœur</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="26"/>
        <source>Laughing</source>
        <translation>Rire</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="27"/>
        <source>Surprised</source>
        <translation>Surprise</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="28"/>
        <source>Celebration</source>
        <translation>Fête</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="29"/>
        <source>Thank you</source>
        <translation>Merci</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <location filename="../../client/ui/settings_dialog.py" line="34"/>
        <source>Settings</source>
        <translation>Paramètres</translation>
    </message>
    <message>
        <location filename="../../client/ui/settings_dialog.py" line="39"/>
        <location filename="../../client/ui/settings_dialog.py" line="66"/>
        <source>Language</source>
        <translation>Langue</translation>
    </message>
    <message>
        <location filename="../../client/ui/settings_dialog.py" line="41"/>
        <source>Follow the system</source>
        <translation>Langue du système</translation>
    </message>
    <message>
        <location filename="../../client/ui/settings_dialog.py" line="48"/>
        <location filename="../../client/ui/settings_dialog.py" line="67"/>
        <source>Caption size</source>
        <translation>Taille des sous-titres</translation>
    </message>
    <message>
        <location filename="../../client/ui/settings_dialog.py" line="50"/>
        <source>Small</source>
        <translation>Petite</translation>
    </message>
    <message>
        <location filename="../../client/ui/settings_dialog.py" line="51"/>
        <source>Medium</source>
        <translation>Moyenne</translation>
    </message>
    <message>
        <location filename="../../client/ui/settings_dialog.py" line="52"/>
        <source>Large</source>
        <translation>Grande</translation>
    </message>
    <message>
        <location filename="../../client/ui/settings_dialog.py" line="53"/>
        <source>Extra large (room screens)</source>
        <translation>Très grande (écrans de salle)</translation>
    </message>
    <message>
        <location filename="../../client/ui/settings_dialog.py" line="59"/>
        <source>Caption background opacity</source>
        <translation>Opacité du fond des sous-titres</translation>
    </message>
    <message>
        <location filename="../../client/ui/settings_dialog.py" line="62"/>
        <source>Keyboard shortcuts (M, V, C, H, Space)</source>
        <translation>Raccourcis clavier (M, V, C, H, Espace)</translation>
    </message>
    <message>
        <location filename="../../client/ui/settings_dialog.py" line="64"/>
        <source>Show captions when joining</source>
        <translation>Afficher les sous-titres en rejoignant une réunion</translation>
    </message>
    <message>
        <location filename="../../client/ui/settings_dialog.py" line="68"/>
        <source>Caption background</source>
        <translation>Fond des sous-titres</translation>
    </message>
    <message>
        <location filename="../../client/ui/settings_dialog.py" line="72"/>
        <location filename="../../client/ui/settings_dialog.py" line="89"/>
        <source>Microphone</source>
        <translation>Micro</translation>
    </message>
    <message>
        <location filename="../../client/ui/settings_dialog.py" line="77"/>
        <location filename="../../client/ui/settings_dialog.py" line="90"/>
        <source>Speaker</source>
        <translation>Haut-parleur</translation>
    </message>
    <message>
        <location filename="../../client/ui/settings_dialog.py" line="83"/>
        <location filename="../../client/ui/settings_dialog.py" line="88"/>
        <source>Camera</source>
        <translation>Caméra</translation>
    </message>
    <message>
        <location filename="../../client/ui/settings_dialog.py" line="86"/>
        <source>First found</source>
        <translation>La première trouvée</translation>
    </message>
    <message>
        <location filename="../../client/ui/settings_dialog.py" line="91"/>
        <source>Echo cancellation (no headset needed)</source>
        <translation>Suppression de l’écho (sans casque)</translation>
    </message>
    <message>
        <location filename="../../client/ui/settings_dialog.py" line="92"/>
        <source>Noise suppression</source>
        <translation>Réduction du bruit</translation>
    </message>
    <message>
        <location filename="../../client/ui/settings_dialog.py" line="93"/>
        <source>Automatic microphone level</source>
        <translation>Niveau du micro automatique</translation>
    </message>
    <message>
        <location filename="../../client/ui/settings_dialog.py" line="94"/>
        <source>Remove low rumble (high-pass filter)</source>
        <translation>Couper les grondements graves (filtre passe-haut)</translation>
    </message>
    <message>
        <location filename="../../client/ui/settings_dialog.py" line="140"/>
        <source>System default</source>
        <translation>Par défaut du système</translation>
    </message>
    <message>
        <location filename="../../client/ui/settings_dialog.py" line="145"/>
        <source>%1 (not connected)</source>
        <translation>%1 (non branché)</translation>
    </message>
    <message>
        <location filename="../../client/ui/settings_dialog.py" line="104"/>
        <source>A new language applies the next time the app starts.</source>
        <translation>Un changement de langue prend effet au prochain démarrage de l’application.</translation>
    </message>
</context>
<context>
    <name>Stage</name>
    <message>
        <location filename="../../client/ui/call_page.py" line="85"/>
        <source>Previous page of participants</source>
        <translation>Page précédente des participants</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="86"/>
        <source>Next page of participants</source>
        <translation>Page suivante des participants</translation>
    </message>
</context>
<context>
    <name>TranscriptItems</name>
    <message>
        <location filename="../../client/ui/captions_history.py" line="293"/>
        <source>{time}, {name}: {text}</source>
        <extracomment>Typing pauses this long before the list is filtered. A width change re-wraps every row: wait until the resizing stops, then re-wrap this many rows per pass of the event loop (the bottom first), so that a long transcript never freezes the window.</extracomment>
        <translation>{time}, {name}&#xa0;: {text}</translation>
    </message>
    <message>
        <location filename="../../client/ui/captions_history.py" line="297"/>
        <source> (still being transcribed)</source>
        <translation> (transcription en cours)</translation>
    </message>
</context>
<context>
    <name>VideoGrid</name>
    <message>
        <location filename="../../client/ui/video_grid.py" line="56"/>
        <source>Participants&apos; video</source>
        <translation>Vidéo des participants</translation>
    </message>
</context>
<context>
    <name>VideoTile</name>
    <message>
        <location filename="../../client/ui/video_tile.py" line="137"/>
        <source>microphone off</source>
        <extracomment>Tiles&apos; repaints are grouped over this long: each window update costs an X round trip and a flush, so nine tiles at 15 fps painted one by one made 130 updates a second, where grouping makes at most 60. Shown, hidden or resized: (tile, visible, width px, height px).</extracomment>
        <translation>micro coupé</translation>
    </message>
    <message>
        <location filename="../../client/ui/video_tile.py" line="139"/>
        <source>camera off</source>
        <translation>caméra coupée</translation>
    </message>
    <message>
        <location filename="../../client/ui/video_tile.py" line="141"/>
        <source>hand raised</source>
        <translation>main levée</translation>
    </message>
    <message>
        <location filename="../../client/ui/video_tile.py" line="143"/>
        <source>speaking</source>
        <translation>en train de parler</translation>
    </message>
    <message>
        <location filename="../../client/ui/video_tile.py" line="144"/>
        <location filename="../../client/ui/video_tile.py" line="269"/>
        <source> (you)</source>
        <translation> (vous)</translation>
    </message>
    <message>
        <location filename="../../client/ui/video_tile.py" line="239"/>
        <source>Video frozen — weak connection</source>
        <translation>Vidéo figée — connexion faible</translation>
    </message>
</context>
</TS>
