import 'element-plus/theme-chalk/base.css';
import 'element-plus/theme-chalk/el-message.css';
import 'element-plus/theme-chalk/el-message-box.css';
import { createApp } from 'vue';
import { createRouter, createWebHashHistory } from 'vue-router';
import App from './App.vue';
import { whenSessionLost } from './api';
import Applications from './pages/Applications.vue';
import Audit from './pages/Audit.vue';
import { forget, restore } from './session';
import './style.css';

// Hash history: the gateway serves one index.html, and nothing personal ever goes into these paths.
const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/', redirect: '/applications' },
    { path: '/applications', component: Applications },
    { path: '/audit', component: Audit },
  ],
});

whenSessionLost(forget);
void restore();
createApp(App).use(router).mount('#app');
