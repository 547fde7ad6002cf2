<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="fr" sourcelanguage="en">
<context>
    <name>Banner</name>
    <message>
        <location filename="../../client/ui/call_page.py" line="76"/>
        <source>Connection status</source>
        <extracomment>Shown or hidden: what sits below it moves.</extracomment>
        <translation>État de la connexion</translation>
    </message>
</context>
<context>
    <name>CallPage</name>
    <message>
        <location filename="../../client/ui/call_page.py" line="55"/>
        <source>Turn the microphone on or off</source>
        <translation>Activer ou désactiver le micro</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="56"/>
        <source>Turn the camera on or off</source>
        <translation>Activer ou désactiver la caméra</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="57"/>
        <source>Show or hide captions</source>
        <translation>Afficher ou masquer les sous-titres</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="58"/>
        <source>Raise or lower your hand</source>
        <translation>Lever ou baisser la main</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="60"/>
        <source>Space</source>
        <translation>Espace</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="61"/>
        <source>Hold to talk while the microphone is off</source>
        <translation>Maintenir enfoncée pour parler quand le micro est coupé</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="63"/>
        <source>List the shortcuts</source>
        <translation>Afficher les raccourcis</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="290"/>
        <source>Connection lost — reconnecting…</source>
        <extracomment>Visio: captions are hidden until the meeting&apos;s captions come, then shown as the preference says (unless the user chose in the meantime).</extracomment>
        <translation>Connexion perdue — reconnexion…</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="296"/>
        <source>The microphone could not be changed. Try again.</source>
        <translation>Le micro n’a pas pu être modifié. Réessayez.</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="297"/>
        <source>The camera could not be changed. Try again.</source>
        <translation>La caméra n’a pas pu être modifiée. Réessayez.</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="298"/>
        <source>Your hand could not be raised or lowered on this server.</source>
        <translation>Ce serveur ne permet pas de lever ou de baisser la main.</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="299"/>
        <source>Your hand could not be raised. Try again.</source>
        <translation>Votre main n&apos;a pas pu être levée. Réessayez.</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="300"/>
        <source>Your hand could not be lowered. Try again.</source>
        <translation>Votre main n&apos;a pas pu être baissée. Réessayez.</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="301"/>
        <location filename="../../client/ui/call_page.py" line="387"/>
        <source>Captions are not available on this server.</source>
        <translation>Les sous-titres ne sont pas disponibles sur ce serveur.</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="302"/>
        <source>Captions could not be started. Try again.</source>
        <translation>Les sous-titres n&apos;ont pas pu être lancés. Réessayez.</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="303"/>
        <source>Your answer to the guest could not be sent. Try again.</source>
        <translation>Votre réponse à l&apos;invité n&apos;a pas pu être envoyée. Réessayez.</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="304"/>
        <source>Your message could not be sent. Check the connection.</source>
        <translation>Votre message n’a pas pu être envoyé. Vérifiez la connexion.</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="305"/>
        <source>The reaction could not be sent.</source>
        <translation>La réaction n’a pas pu être envoyée.</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="306"/>
        <source>The screen could not be shared. Try again.</source>
        <translation>L’écran n’a pas pu être partagé. Réessayez.</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="349"/>
        <source>What to share</source>
        <translation>Que partager</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="352"/>
        <source>Entire screen (%1)</source>
        <translation>Tout l’écran (%1)</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="354"/>
        <source>Window: %1</source>
        <translation>Fenêtre : %1</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="358"/>
        <source>Nothing to share was found</source>
        <translation>Rien à partager n’a été trouvé</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="370"/>
        <source>%1 muted your microphone</source>
        <translation>%1 a coupé votre micro</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="372"/>
        <source>Your microphone was turned off by a host</source>
        <translation>Un organisateur a coupé votre micro</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="380"/>
        <source>The meeting is no longer recorded</source>
        <translation>La réunion n&apos;est plus enregistrée</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="418"/>
        <source>The shared window was closed: sharing stopped.</source>
        <translation>La fenêtre partagée a été fermée : le partage s’est arrêté.</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="439"/>
        <source>You are speaking with your microphone off.</source>
        <translation>Vous parlez avec le micro coupé.</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="473"/>
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
        <location filename="../../client/ui/controls_bar.py" line="182"/>
        <source>Microphone</source>
        <translation>Micro</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="98"/>
        <location filename="../../client/ui/controls_bar.py" line="205"/>
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
        <location filename="../../client/ui/controls_bar.py" line="223"/>
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
        <location filename="../../client/ui/controls_bar.py" line="183"/>
        <source>Speaker</source>
        <translation>Haut-parleur</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="187"/>
        <source>System default</source>
        <translation>Par défaut du système</translation>
    </message>
    <message>
        <location filename="../../client/ui/controls_bar.py" line="217"/>
        <source>No camera found</source>
        <translation>Aucune caméra trouvée</translation>
    </message>
    <message numerus="yes">
        <location filename="../../client/ui/controls_bar.py" line="225"/>
        <source>Chat, %n unread message(s)</source>
        <translation>
            <numerusform>Chat, %n message non lu</numerusform>
            <numerusform>Chat, %n messages non lus</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>GuestRow</name>
    <message>
        <location filename="../../client/ui/meeting_notices.py" line="137"/>
        <source>A guest</source>
        <extracomment>The notice&apos;s width: room for a name and both buttons, not more of the video. Guests listed before the list scrolls. An answer the server did not act on frees its buttons again after this long. How long a newly arrived guest&apos;s notice stays highlighted.</extracomment>
        <translation>Un invité</translation>
    </message>
    <message>
        <location filename="../../client/ui/meeting_notices.py" line="149"/>
        <source>Deny</source>
        <translation>Refuser</translation>
    </message>
    <message>
        <location filename="../../client/ui/meeting_notices.py" line="151"/>
        <source>Deny %1</source>
        <translation>Refuser %1</translation>
    </message>
    <message>
        <location filename="../../client/ui/meeting_notices.py" line="152"/>
        <source>Admit</source>
        <translation>Admettre</translation>
    </message>
    <message>
        <location filename="../../client/ui/meeting_notices.py" line="154"/>
        <source>Admit %1</source>
        <translation>Admettre %1</translation>
    </message>
</context>
<context>
    <name>HomePage</name>
    <message>
        <location filename="../../client/ui/home_page.py" line="53"/>
        <source>Join a meeting</source>
        <extracomment>(MeetingLink | VisioLink, display name): the user asked to join. (Visio server base URL): sign in to it, or out of it. The Visio server shown changed (base URL): who are we there?</extracomment>
        <translation>Rejoindre une réunion</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="58"/>
        <source>Visio server</source>
        <translation>Serveur Visio</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="64"/>
        <source>Account</source>
        <translation>Compte</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="65"/>
        <source>Sign in</source>
        <translation>Se connecter</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="66"/>
        <source>Sign out</source>
        <translation>Se déconnecter</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="77"/>
        <source>Meeting link (https://visio…/abc-defg-hij, or wss://… with its token)</source>
        <translation>Lien de la réunion (https://visio…/abc-defg-hij, ou wss://… avec son jeton)</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="79"/>
        <source>Meeting link</source>
        <translation>Lien de la réunion</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="82"/>
        <source>Access token, if not in the link</source>
        <translation>Jeton d’accès, s’il n’est pas dans le lien</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="83"/>
        <source>Access token</source>
        <translation>Jeton d’accès</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="86"/>
        <source>Your name as others will see it</source>
        <translation>Votre nom, tel que les autres le verront</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="87"/>
        <source>Your name</source>
        <translation>Votre nom</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="89"/>
        <source>Link</source>
        <translation>Lien</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="90"/>
        <source>Token</source>
        <translation>Jeton</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="91"/>
        <source>Name</source>
        <translation>Nom</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="100"/>
        <source>Settings</source>
        <translation>Paramètres</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="101"/>
        <source>Continue</source>
        <translation>Continuer</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="108"/>
        <location filename="../../client/ui/home_page.py" line="111"/>
        <source>Recent meetings</source>
        <translation>Réunions récentes</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="165"/>
        <source>Enter the address of a Visio server first.</source>
        <translation>Indiquez d&apos;abord l&apos;adresse d&apos;un serveur Visio.</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="172"/>
        <source>Signed in as %1</source>
        <translation>Connecté en tant que %1</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="190"/>
        <source>No recent meeting yet</source>
        <translation>Aucune réunion récente pour l’instant</translation>
    </message>
    <message>
        <location filename="../../client/ui/home_page.py" line="218"/>
        <source>Enter your name: it is how others will see you.</source>
        <translation>Saisissez votre nom&#xa0;: c’est ainsi que les autres vous verront.</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../client/ui/main_window.py" line="64"/>
        <location filename="../../client/ui/main_window.py" line="535"/>
        <source>Visio</source>
        <extracomment>Visio servers and our sign-ins (used on the core thread).</extracomment>
        <translation>Visio</translation>
    </message>
    <message>
        <location filename="../../client/ui/main_window.py" line="368"/>
        <source>Sign in</source>
        <extracomment>The devices the core found last (for the settings dialog). The Visio room looked up for the pre-join (and the name it was asked with).</extracomment>
        <translation>Se connecter</translation>
    </message>
    <message>
        <location filename="../../client/ui/main_window.py" line="369"/>
        <source>Signing in needs the web view component, which is not installed.</source>
        <translation>La connexion nécessite le composant d&apos;affichage web, qui n&apos;est pas installé.</translation>
    </message>
    <message>
        <location filename="../../client/ui/main_window.py" line="450"/>
        <source>Your sign-in has expired.</source>
        <translation>Votre connexion a expiré.</translation>
    </message>
    <message>
        <location filename="../../client/ui/main_window.py" line="458"/>
        <source>Signed in as %1 (until the app closes: this computer has no keychain)</source>
        <translation>Connecté en tant que %1 (jusqu&apos;à la fermeture de l&apos;application : cet ordinateur n&apos;a pas de trousseau)</translation>
    </message>
    <message>
        <location filename="../../client/ui/main_window.py" line="520"/>
        <source>Visio — %1</source>
        <translation>Visio — %1</translation>
    </message>
    <message>
        <location filename="../../client/ui/main_window.py" line="612"/>
        <source>Leave the call?</source>
        <translation>Quitter l’appel&#x202f;?</translation>
    </message>
    <message>
        <location filename="../../client/ui/main_window.py" line="613"/>
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
        <location filename="../../client/ui/messages.py" line="17"/>
        <source>This address is not secure (ws:// or http://) and the server is not on this computer or a private network. Ask for a wss:// or https:// link.</source>
        <translation>Cette adresse n’est pas sécurisée (ws:// ou http://) et le serveur n’est ni sur cet ordinateur ni sur un réseau privé. Demandez un lien en wss:// ou https://.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="25"/>
        <source>The access token in this link is damaged. Copy the whole link again.</source>
        <translation>Le jeton d’accès de ce lien est endommagé. Copiez à nouveau le lien en entier.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="29"/>
        <source>This link has no access token. Paste the whole link, or the token below.</source>
        <translation>Ce lien ne contient pas de jeton d’accès. Collez le lien en entier, ou le jeton ci-dessous.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="34"/>
        <source>Paste the link of the meeting you were invited to.</source>
        <translation>Collez le lien d’invitation à la réunion.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="37"/>
        <source>This is not a meeting link. Check that you copied it whole.</source>
        <translation>Ce n’est pas un lien de réunion. Vérifiez que vous l’avez copié en entier.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="46"/>
        <source>You were removed from the meeting.</source>
        <translation>Vous avez été retiré de la réunion.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="48"/>
        <source>The meeting has ended.</source>
        <translation>La réunion est terminée.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="50"/>
        <source>You joined this meeting from another device, so this one left it.</source>
        <translation>Vous avez rejoint cette réunion depuis un autre appareil&#xa0;: celui-ci l’a donc quittée.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="53"/>
        <source>The server ended your session.</source>
        <translation>Le serveur a mis fin à votre session.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="60"/>
        <source>This invitation has expired. Ask the organiser for a new link.</source>
        <translation>Cette invitation a expiré. Demandez un nouveau lien à l’organisateur.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="64"/>
        <source>This invitation is not valid for this server. Ask for a new link.</source>
        <translation>Cette invitation n’est pas valable pour ce serveur. Demandez un nouveau lien.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="68"/>
        <source>You are not allowed to join this meeting.</source>
        <translation>Vous n’êtes pas autorisé à rejoindre cette réunion.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="72"/>
        <source>The meeting is full. Try again later.</source>
        <translation>La réunion est complète. Réessayez plus tard.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="74"/>
        <source>No meeting server answers at this address. Check the link.</source>
        <translation>Aucun serveur de réunion ne répond à cette adresse. Vérifiez le lien.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="80"/>
        <source>The proxy of your network cannot be reached or refused the connection to the meeting server. Check the proxy settings or contact your IT support.</source>
        <translation>Le proxy de votre réseau est injoignable ou a refusé la connexion au serveur de réunion. Vérifiez les paramètres du proxy ou contactez votre support informatique.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="86"/>
        <source>The meeting server cannot be reached. Check your network connection; the app will keep the link so you can try again.</source>
        <translation>Le serveur de réunion est injoignable. Vérifiez votre connexion réseau&#x202f;; l’application garde le lien pour que vous puissiez réessayer.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="92"/>
        <source>This network blocks the traffic audio and video use (UDP), and the relay through an encrypted web connection did not get through either. Try another network, or ask your IT support to allow UDP or TURN over TLS.</source>
        <translation>Ce réseau bloque le trafic qu’utilisent le son et la vidéo (UDP), et le relais par une connexion web chiffrée n’a pas abouti non plus. Essayez un autre réseau, ou demandez à votre support informatique d’autoriser UDP ou TURN sur TLS.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="99"/>
        <source>Connected, but audio and video cannot get through this network (a firewall may block them). Try another network or contact your IT support.</source>
        <translation>Connexion établie, mais le son et la vidéo ne passent pas sur ce réseau (un pare-feu les bloque peut-être). Essayez un autre réseau ou contactez votre support informatique.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="108"/>
        <source>Something went wrong (%1). Try again.</source>
        <translation>Une erreur s’est produite (%1). Réessayez.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="116"/>
        <source>The security certificate of the meeting server is not recognised by this computer. If your organisation uses its own certificate authority, ask your IT support to install it.</source>
        <translation>Le certificat de sécurité du serveur de réunion n’est pas reconnu par cet ordinateur. Si votre organisation utilise sa propre autorité de certification, demandez à votre support informatique de l’installer.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="123"/>
        <source>The meeting server presented a certificate made for another address: the connection may be intercepted. Check the link or contact your IT support.</source>
        <translation>Le serveur de réunion a présenté un certificat établi pour une autre adresse&#xa0;: la connexion est peut-être interceptée. Vérifiez le lien ou contactez votre support informatique.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="129"/>
        <source>The security certificate of the meeting server has expired or is not valid yet. Check this computer&apos;s date and time, or tell the server&apos;s administrator.</source>
        <translation>Le certificat de sécurité du serveur de réunion a expiré ou n’est pas encore valide. Vérifiez la date et l’heure de cet ordinateur, ou prévenez l’administrateur du serveur.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="135"/>
        <source>The security certificate of the meeting server has been revoked. Tell the server&apos;s administrator.</source>
        <translation>Le certificat de sécurité du serveur de réunion a été révoqué. Prévenez l’administrateur du serveur.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="141"/>
        <source>The additional certificate authority file set for this app cannot be read. Check the file or contact your IT support.</source>
        <translation>Le fichier d’autorité de certification supplémentaire configuré pour cette application est illisible. Vérifiez le fichier ou contactez votre support informatique.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="146"/>
        <source>A secure connection to the meeting server could not be established. Contact your IT support.</source>
        <translation>Impossible d’établir une connexion sécurisée avec le serveur de réunion. Contactez votre support informatique.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="157"/>
        <source>camera</source>
        <translation>caméra</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="158"/>
        <source>microphone</source>
        <translation>micro</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="159"/>
        <source>speaker</source>
        <translation>haut-parleur</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="160"/>
        <source>screen</source>
        <translation>écran</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="164"/>
        <source>%1 was disconnected: now using %2.</source>
        <translation>%1 : appareil débranché, %2 prend le relais.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="167"/>
        <source>%1 was disconnected, and nothing can replace it.</source>
        <translation>%1 : appareil débranché, aucun autre n’est disponible.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="173"/>
        <source>%1 may not be used: allow it in the system&apos;s privacy settings.</source>
        <translation>%1 n’est pas autorisé(e) : autorisez-le dans les réglages de confidentialité du système.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="178"/>
        <source>%1 not found: the call goes on without it.</source>
        <translation>%1 introuvable : l’appel continue sans.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="181"/>
        <source>Screen sharing is not available on this desktop (Wayland, or no X display).</source>
        <translation>Le partage d’écran n’est pas disponible sur ce bureau (Wayland, ou pas d’affichage X).</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="204"/>
        <source>The host did not let you in.</source>
        <translation>L&apos;organisateur ne vous a pas laissé entrer.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="206"/>
        <source>Nobody let you in within 10 minutes. Try again, or contact the organiser.</source>
        <translation>Personne ne vous a laissé entrer en 10 minutes. Réessayez, ou contactez l&apos;organisateur.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="214"/>
        <source>The Visio server does not answer. Check your network connection; the link is kept so you can try again.</source>
        <translation>Le serveur Visio ne répond pas. Vérifiez votre connexion réseau ; le lien est conservé pour réessayer.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="219"/>
        <source>This address is not a Visio server. Check the link you were sent.</source>
        <translation>Cette adresse n&apos;est pas un serveur Visio. Vérifiez le lien reçu.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="222"/>
        <source>This meeting does not exist on this server. Check the link.</source>
        <translation>Cette réunion n&apos;existe pas sur ce serveur. Vérifiez le lien.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="225"/>
        <source>This server needs you to sign in first.</source>
        <translation>Ce serveur vous demande de vous connecter d&apos;abord.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="228"/>
        <source>Your sign-in has expired: sign in again.</source>
        <translation>Votre connexion a expiré : reconnectez-vous.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="231"/>
        <source>The Visio server refused this request.</source>
        <translation>Le serveur Visio a refusé cette demande.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="232"/>
        <source>This person is no longer waiting.</source>
        <translation>Cette personne n&apos;attend plus.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="233"/>
        <source>The Visio server does not see you in the meeting yet. Try again.</source>
        <translation>Le serveur Visio ne vous voit pas encore dans la réunion. Réessayez.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="236"/>
        <source>Captions are not available on this server.</source>
        <translation>Les sous-titres ne sont pas disponibles sur ce serveur.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="242"/>
        <source>The Visio server had a problem. Try again in a moment.</source>
        <translation>Le serveur Visio a rencontré un problème. Réessayez dans un instant.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="170"/>
        <source>%1 is used by another application. Close it, then try again.</source>
        <translation>Une autre application utilise %1. Fermez-la, puis réessayez.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="185"/>
        <source>%1 could not be opened: the one in use is kept.</source>
        <translation>Impossible d’ouvrir %1 : l’appareil actuel est conservé.</translation>
    </message>
    <message>
        <location filename="../../client/ui/messages.py" line="195"/>
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
        <location filename="../../client/ui/prejoin_page.py" line="85"/>
        <source>Camera preview</source>
        <extracomment>(camera on, microphone on, display name) A device was chosen: (&quot;microphone&quot; | &quot;speaker&quot; | &quot;camera&quot;, id; &quot;&quot; = the default). The camera switch: open the device for the preview, or release it. The room wants a signed-in user: open the server&apos;s sign-in. Stop waiting in the lobby. What the room lets us do (``set_room_state``). Whether a camera is plugged in (None: not known yet).</extracomment>
        <translation>Aperçu de la caméra</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="98"/>
        <location filename="../../client/ui/prejoin_page.py" line="207"/>
        <source>Ready to join?</source>
        <translation>Rejoindre la réunion&#x202f;?</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="107"/>
        <source>Your name</source>
        <translation>Votre nom</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="110"/>
        <location filename="../../client/ui/prejoin_page.py" line="139"/>
        <location filename="../../client/ui/prejoin_page.py" line="166"/>
        <source>Camera</source>
        <translation>Caméra</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="112"/>
        <source>Looking for cameras…</source>
        <translation>Recherche des caméras…</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="119"/>
        <source>Test pattern (test media)</source>
        <translation>Mire (médias de test)</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="121"/>
        <location filename="../../client/ui/prejoin_page.py" line="140"/>
        <location filename="../../client/ui/prejoin_page.py" line="165"/>
        <source>Microphone</source>
        <translation>Micro</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="123"/>
        <location filename="../../client/ui/prejoin_page.py" line="141"/>
        <source>Speaker</source>
        <translation>Haut-parleur</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="125"/>
        <source>Silence (test media)</source>
        <translation>Silence (médias de test)</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="126"/>
        <source>Nothing is played (test media)</source>
        <translation>Aucun son joué (médias de test)</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="129"/>
        <location filename="../../client/ui/prejoin_page.py" line="309"/>
        <source>System default</source>
        <translation>Par défaut du système</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="138"/>
        <source>Name</source>
        <translation>Nom</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="146"/>
        <source>Microphone level</source>
        <translation>Niveau du micro</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="161"/>
        <source>Meeting access</source>
        <translation>Accès à la réunion</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="177"/>
        <source>Back</source>
        <translation>Retour</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="178"/>
        <location filename="../../client/ui/prejoin_page.py" line="247"/>
        <source>Join now</source>
        <translation>Rejoindre</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="181"/>
        <source>Sign in</source>
        <translation>Se connecter</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="183"/>
        <source>Cancel</source>
        <translation>Annuler</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="208"/>
        <source>Meeting on %1</source>
        <translation>Réunion sur %1</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="231"/>
        <source>A host will let you in: you will wait until then.</source>
        <translation>Un organisateur vous laissera entrer : vous patienterez jusque-là.</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="233"/>
        <source>This meeting is for signed-in users. Sign in, or ask a host to let you in.</source>
        <translation>Cette réunion est réservée aux utilisateurs connectés. Connectez-vous, ou demandez à un organisateur de vous laisser entrer.</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="236"/>
        <source>Your sign-in has expired. Sign in again, or ask a host to let you in.</source>
        <translation>Votre connexion a expiré. Reconnectez-vous, ou demandez à un organisateur de vous laisser entrer.</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="238"/>
        <source>Waiting for the host to let you in…</source>
        <translation>En attente de l&apos;organisateur pour vous laisser entrer…</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="245"/>
        <source>Ask to join</source>
        <translation>Demander à rejoindre</translation>
    </message>
    <message>
        <location filename="../../client/ui/prejoin_page.py" line="294"/>
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
    <name>RecordingBadge</name>
    <message>
        <location filename="../../client/ui/meeting_notices.py" line="363"/>
        <source>This meeting is being transcribed</source>
        <translation>Cette réunion est transcrite</translation>
    </message>
    <message>
        <location filename="../../client/ui/meeting_notices.py" line="365"/>
        <source>This meeting is being recorded</source>
        <translation>Cette réunion est enregistrée</translation>
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
    <name>SignInDialog</name>
    <message>
        <location filename="../../client/ui/sign_in_dialog.py" line="134"/>
        <source>Sign in to %1</source>
        <extracomment>How long cookie changes settle before the caller hears of them: a login response sets several at once, and each would otherwise cost the caller a users/me request. Chromium&apos;s code for a navigation cancelled by another one (or by a download): not a failure the user needs to hear about. dict[str, str]: every cookie the view holds for the server&apos;s host (name -&gt; value), each time it may have changed (after each page load, after changes). (name, domain, path) -&gt; value, for the server&apos;s host only.</extracomment>
        <translation>Se connecter à %1</translation>
    </message>
    <message>
        <location filename="../../client/ui/sign_in_dialog.py" line="147"/>
        <source>Sign-in page</source>
        <translation>Page de connexion</translation>
    </message>
    <message>
        <location filename="../../client/ui/sign_in_dialog.py" line="227"/>
        <source>Loading %1…</source>
        <translation>Chargement de %1…</translation>
    </message>
    <message>
        <location filename="../../client/ui/sign_in_dialog.py" line="241"/>
        <source>%1 (secure connection)</source>
        <translation>%1 (connexion sécurisée)</translation>
    </message>
    <message>
        <location filename="../../client/ui/sign_in_dialog.py" line="243"/>
        <source>%1 (connection not encrypted)</source>
        <translation>%1 (connexion non chiffrée)</translation>
    </message>
    <message>
        <location filename="../../client/ui/sign_in_dialog.py" line="257"/>
        <source>The server answered with an error (HTTP %1). Try again later.</source>
        <translation>Le serveur a répondu par une erreur (HTTP %1). Réessayez plus tard.</translation>
    </message>
    <message>
        <location filename="../../client/ui/sign_in_dialog.py" line="261"/>
        <source>The server&apos;s certificate is not trusted (%1): sign-in was stopped to keep your password safe.</source>
        <translation>Le certificat du serveur n&apos;est pas reconnu (%1) : la connexion a été arrêtée pour protéger votre mot de passe.</translation>
    </message>
    <message>
        <location filename="../../client/ui/sign_in_dialog.py" line="266"/>
        <source>The sign-in page could not be loaded (%1). Check your connection and try again.</source>
        <translation>La page de connexion n&apos;a pas pu être chargée (%1). Vérifiez votre connexion et réessayez.</translation>
    </message>
    <message>
        <location filename="../../client/ui/sign_in_dialog.py" line="285"/>
        <source>The sign-in page stopped unexpectedly. Try again.</source>
        <translation>La page de connexion s&apos;est arrêtée de façon inattendue. Réessayez.</translation>
    </message>
</context>
<context>
    <name>Stage</name>
    <message>
        <location filename="../../client/ui/call_page.py" line="103"/>
        <source>Previous page of participants</source>
        <translation>Page précédente des participants</translation>
    </message>
    <message>
        <location filename="../../client/ui/call_page.py" line="104"/>
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
<context>
    <name>WaitingNotice</name>
    <message>
        <location filename="../../client/ui/meeting_notices.py" line="199"/>
        <source>Waiting to join</source>
        <extracomment>(guest id, allow)</extracomment>
        <translation>En attente pour rejoindre</translation>
    </message>
    <message>
        <location filename="../../client/ui/meeting_notices.py" line="208"/>
        <source>Admit all</source>
        <translation>Tout admettre</translation>
    </message>
    <message numerus="yes">
        <location filename="../../client/ui/meeting_notices.py" line="284"/>
        <location filename="../../client/ui/meeting_notices.py" line="306"/>
        <source>%n people want to join</source>
        <translation>
            <numerusform>%n personne souhaite rejoindre</numerusform>
            <numerusform>%n personnes souhaitent rejoindre</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../client/ui/meeting_notices.py" line="295"/>
        <source>A guest wants to join</source>
        <translation>Un invité souhaite rejoindre</translation>
    </message>
    <message>
        <location filename="../../client/ui/meeting_notices.py" line="296"/>
        <source>%1 wants to join</source>
        <translation>%1 souhaite rejoindre</translation>
    </message>
</context>
</TS>
